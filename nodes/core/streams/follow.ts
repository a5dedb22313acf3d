// Following a prediction's text as it is generated: its event stream, resumed with Last-Event-ID
// after a drop (bounded tries, with backoff), polling when it cannot be resumed, and waiting as
// `complete` does for a model that does not stream. Whatever way it goes, the text handed on is
// exactly the final output once: the text delivered so far is kept, and the rest the finished
// prediction holds beyond it is sent at the end.
import type { Dispatcher } from 'undici';
import { abortedError, pauseBeforeRetry, type Prediction, type ReplicateClient } from '../http';
import { joinedOutput } from '../models';
import { awaitPrediction, type PredictionPoller, type Progress, type WaitPlan } from '../predictions';
import { readEventStream, type StreamEvent } from './sse-reader';

export interface FollowHandlers {
  /** A chunk of text, exactly as sent. */
  onOutput: (text: string) => void;
  /** A `logs` event's text. */
  onLogs?: (text: string) => void;
  /** A drop is being resumed: attempt 1, 2...; or, with `polling`, given up on for polls. */
  onReconnect?: (attempt: number, polling: boolean) => void;
}

export interface ResumePolicy {
  /** Consecutive failed attempts to resume before polling instead. */
  tries: number;
  /** The first wait; each next one doubles, up to maxDelayMs. */
  delayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESUME: ResumePolicy = { tries: 3, delayMs: 250, maxDelayMs: 4000 };

export interface FollowOptions extends Progress {
  /** Where the stream connections go (the node's own, so closing it leaves no socket open). */
  connections: Dispatcher;
  resume?: ResumePolicy;
}

/** Follows a created prediction to its end; resolves with the finished prediction from a final GET. */
export async function followPrediction(
  client: ReplicateClient,
  poller: PredictionPoller,
  created: Prediction,
  plan: WaitPlan,
  handlers: FollowHandlers,
  options: FollowOptions,
): Promise<Prediction> {
  const signal = options.signal ?? new AbortController().signal;
  const url = created.urls?.stream;
  if (!url) {
    // A model that cannot stream: its whole output once it has finished, one part per element.
    const finished = await awaitPrediction(client, poller, created.id, plan, options, created);
    const { output } = finished;
    if (typeof output === 'string' && output !== '') handlers.onOutput(output);
    else if (Array.isArray(output)) for (const item of output) if (typeof item === 'string' && item !== '') handlers.onOutput(item);
    return finished;
  }

  let delivered = '';
  let lastEventId: string | undefined;
  let failures = 0;
  let hintMs: number | undefined;
  const policy = options.resume ?? DEFAULT_RESUME;
  const headers = client.headersFor(url, 'text/event-stream');
  const onEvent = (event: StreamEvent) => {
    if (event.id !== undefined) lastEventId = event.id;
    failures = 0; // the stream is moving again
    if (event.event === 'output') {
      delivered += event.data;
      handlers.onOutput(event.data);
    } else if (event.event === 'logs') handlers.onLogs?.(event.data);
    // `error` and `done`: the prediction has ended; the final GET says how.
  };
  for (;;) {
    const end = await readEventStream(options.connections, url, {
      headers,
      lastEventId,
      signal,
      onEvent,
      onRetryHint: (ms) => (hintMs = ms),
    });
    if (end.kind === 'done') break;
    if (signal.aborted) throw abortedError();
    failures++;
    if ((end.kind === 'refused' && !end.retryable) || failures > policy.tries) {
      handlers.onReconnect?.(failures, true);
      break; // cannot be resumed: the polls below find the rest
    }
    handlers.onReconnect?.(failures, false);
    const delay = Math.min(policy.maxDelayMs, Math.max(hintMs ?? 0, policy.delayMs * 2 ** (failures - 1)));
    await pauseBeforeRetry(delay, signal);
  }
  // The final GET (and polls, when the stream was given up before the end).
  const finished = await awaitPrediction(client, poller, created.id, plan, options);
  const rest = restOf(finished.output, delivered);
  if (rest) handlers.onOutput(rest);
  return finished;
}

/** What the finished output holds beyond the text delivered: never what was sent already. */
export function restOf(output: unknown, delivered: string): string {
  const whole = joinedOutput(output);
  if (whole === undefined || !whole.startsWith(delivered)) return '';
  return whole.slice(delivered.length);
}
