// One HTTP request and its whole answer as text, through undici's dispatch API: no stream per
// response, as pool.request() makes, only the chunks. A request still queued in the pool when its
// signal aborts settles at once and is dropped unsent when its turn comes.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { AbortListeners, AbortWatcher } from './abort-listeners';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

class Exchange implements Dispatcher.DispatchHandler, AbortWatcher {
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: IncomingHttpHeaders | undefined;
  private chunks: Buffer[] | undefined;
  private settled = false;
  /** Why it was stopped before it started. */
  private reason: Error | undefined;

  constructor(
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (err: Error) => void,
    private readonly signal: AbortSignal | undefined,
    private readonly listeners: AbortListeners,
  ) {}

  /** The signal aborted: stops the request, or drops it from the queue unsent. */
  onAbort(reason: Error): void {
    if (this.settled) return;
    this.reason = reason;
    this.fail(reason);
    this.controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.reason) controller.abort(this.reason);
    else this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200) return; // informational (100 Continue): the answer is still to come
    this.status = status;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    (this.chunks ??= []).push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.finish();
    const chunks = this.chunks ?? [];
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    this.resolve({ status: this.status, headers: this.headers ?? {}, text: body.toString('utf8') });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.finish();
    this.reject(err);
  }

  private finish(): void {
    this.settled = true;
    if (this.signal) this.listeners.remove(this.signal, this);
  }
}

/** Sends one request through `dispatcher` (queued there while every connection is busy). */
export function exchange(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal | undefined,
  listeners: AbortListeners,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const handler = new Exchange(resolve, reject, signal, listeners);
    if (signal) listeners.add(signal, handler);
    dispatcher.dispatch(options, handler);
  });
}
