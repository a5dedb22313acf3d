// Real HTTP requests to an emulator, through an undici Agent the tests close when done.
import { Agent, request } from 'undici';

/** T: what the test expects the body to be (unchecked: the test's assertions check it). */
export interface Reply<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json: T;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

export class Client {
  readonly agent = new Agent();

  constructor(
    private readonly baseUrl: string,
    private readonly defaultToken: string,
  ) {}

  /** path is relative to the base URL (e.g. '/predictions') or an absolute URL (a `next` link). */
  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<Reply<T>> {
    const token = options.token === undefined ? this.defaultToken : options.token;
    const headers: Record<string, string> = { ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (typeof options.body === 'string') body = options.body;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const url = /^https?:/.test(path) ? path : `${this.baseUrl}${path}`;
    const response = await request(url, { method: method as 'GET', headers, body, dispatcher: this.agent });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: response.headers,
      text,
      get json() {
        return JSON.parse(text) as T;
      },
    };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls until check() returns something truthy, or fails after timeoutMs. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 3000, what = 'condition'): Promise<Truthy<T>> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    if (Date.now() > giveUpAt) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}
