// One connection to a prediction's event stream (text/event-stream), read with undici and parsed
// with eventsource-parser: each event is handed on as it completes, nothing is buffered beyond it,
// and one event (or one unfinished line) is held up to MAX_EVENT_CHARS only: a stream that sends
// more is closed and fails the message, whatever it would have sent next.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { ReplicateError } from '../http';

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
  /** An event; what it throws fails the read (the message), the connection is closed. */
  onEvent: (event: StreamEvent) => void;
  /** The server's `retry:` hint, in ms. */
  onRetryHint?: (ms: number) => void;
}

/** An idle stream longer than this is taken for a dead connection, and resumed. */
const IDLE_MS = 120_000;

/** The most one event, or one line not ended yet, may hold (1 MiB of characters); a token is a few. */
export const MAX_EVENT_CHARS = 1024 * 1024;

export function eventTooLarge(): ReplicateError {
  return new ReplicateError('streams.eventTooLarge', undefined, { code: 'bad-response', retryable: false });
}

/**
 * Reads the stream until `done`, a drop or a refusal. Rejects, with the connection closed, when
 * the signal aborts, an event is too large, or onEvent throws: those are the message's errors, not
 * a connection to resume.
 */
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
    body.on('error', () => undefined);
    // a short answer is read to its end so the connection can be reused; a long one is not read at all
    if (Number(response.headers['content-length'] ?? Infinity) <= 64 * 1024) body.resume();
    else body.destroy();
    const retryable = statusCode === 429 || statusCode >= 500;
    return { kind: 'refused', status: statusCode, retryable };
  }
  let done = false;
  let failure: Error | undefined;
  const parser = createParser({
    maxBufferSize: MAX_EVENT_CHARS,
    onEvent(message: EventSourceMessage) {
      if (done || failure !== undefined) return;
      // the parser bounds what it buffers; an event completed within one chunk is checked here
      if (message.data.length > MAX_EVENT_CHARS) throw eventTooLarge();
      const event = message.event ?? 'message';
      if (event === 'done') done = true;
      options.onEvent({ event, data: message.data, id: message.id });
    },
    onError(error) {
      if (error.type === 'max-buffer-size-exceeded') failure ??= eventTooLarge();
    },
    onRetry: options.onRetryHint,
  });
  // undici's body ignores setEncoding: a streaming decoder keeps characters split across chunks whole
  const decoder = new TextDecoder();
  return new Promise<StreamEnd>((resolve, reject) => {
    const end = () => {
      if (options.signal.aborted) reject(options.signal.reason as Error);
      else if (failure !== undefined) reject(failure);
      else resolve(done ? { kind: 'done' } : { kind: 'dropped' });
    };
    body.on('data', (chunk: Buffer) => {
      if (failure === undefined) {
        try {
          parser.feed(decoder.decode(chunk, { stream: true }));
        } catch (err) {
          failure = err instanceof Error ? err : new Error(String(err));
        }
      }
      // The stream is over once `done` came (the server closing it is not waited for), or once it failed.
      if (done || failure !== undefined) body.destroy();
    });
    body.on('end', end);
    body.on('close', end);
    body.on('error', end);
  });
}
