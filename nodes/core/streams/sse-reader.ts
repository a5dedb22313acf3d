// One connection to a prediction's event stream (text/event-stream), read with undici and parsed
// with eventsource-parser: each event is handed on as it completes, nothing is buffered beyond it.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Dispatcher } from 'undici';

export interface StreamEvent {
  /** `output`, `logs`, `error`, `done` (the parser leaves a nameless event undefined: `message`). */
  event: string;
  /** Multi-line data joined with `\n`, nothing trimmed. */
  data: string;
  id?: string;
}

/** How a connection ended: the `done` event came, it broke off (worth resuming), or the server refused it. */
export type StreamEnd = { kind: 'done' } | { kind: 'dropped' } | { kind: 'refused'; status: number; retryable: boolean };

export interface ReadOptions {
  headers: Record<string, string>;
  /** Resumes after this event (`Last-Event-ID`). */
  lastEventId?: string;
  signal: AbortSignal;
  onEvent: (event: StreamEvent) => void;
  /** The server's `retry:` hint, in ms. */
  onRetryHint?: (ms: number) => void;
}

/** An idle stream longer than this is taken for a dead connection, and resumed. */
const IDLE_MS = 120_000;

export async function readEventStream(dispatcher: Dispatcher, url: string, options: ReadOptions): Promise<StreamEnd> {
  const target = new URL(url);
  const headers = options.lastEventId === undefined ? options.headers : { ...options.headers, 'last-event-id': options.lastEventId };
  let response: Dispatcher.ResponseData;
  try {
    response = await dispatcher.request({
      origin: target.origin,
      path: target.pathname + target.search,
      method: 'GET',
      headers,
      signal: options.signal,
      bodyTimeout: IDLE_MS,
      headersTimeout: IDLE_MS,
    });
  } catch (err) {
    if (options.signal.aborted) throw err;
    return { kind: 'dropped' };
  }
  const { statusCode, body } = response;
  const type = String(response.headers['content-type'] ?? '');
  if (statusCode !== 200 || !type.startsWith('text/event-stream')) {
    body.resume(); // read to the end so the connection can be reused
    body.on('error', () => undefined);
    const retryable = statusCode === 429 || statusCode >= 500;
    return { kind: 'refused', status: statusCode, retryable };
  }
  let done = false;
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      if (done) return;
      const event = message.event ?? 'message';
      if (event === 'done') done = true;
      options.onEvent({ event, data: message.data, id: message.id });
    },
    onRetry: options.onRetryHint,
  });
  // undici's body ignores setEncoding: a streaming decoder keeps characters split across chunks whole
  const decoder = new TextDecoder();
  return new Promise<StreamEnd>((resolve, reject) => {
    const end = () => {
      if (options.signal.aborted) reject(options.signal.reason as Error);
      else resolve(done ? { kind: 'done' } : { kind: 'dropped' });
    };
    body.on('data', (chunk: Buffer) => {
      parser.feed(decoder.decode(chunk, { stream: true }));
      // The stream is over once `done` came; the server closing it is not waited for.
      if (done) body.destroy();
    });
    body.on('end', end);
    body.on('close', end);
    body.on('error', end);
  });
}
