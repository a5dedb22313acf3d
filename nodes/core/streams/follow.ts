// Following a prediction's output as it is generated: its event stream, resumed with Last-Event-ID
// after a drop (a bounded number of tries per prediction, with backoff), polling when it cannot be
// resumed, and waiting as `complete` does for a model that does not stream. Whatever way it goes,
// what is handed on is exactly the final output once: how much was delivered is kept (a length and
// a digest of the text, a count of the files), never a copy, and the rest the finished prediction
// holds beyond it is sent at the end. A text stream's output is chunks of text; a files stream's
// (its URL under /v1/files/, as the official clients tell it) is one file URL per event.
import { createHash, type Hash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { abortedError, pauseBeforeRetry, ReplicateError, type Prediction, type ReplicateClient } from '../http';
import { joinedOutput } from '../models';
import { awaitPrediction, type PredictionPoller, type Progress, type WaitPlan } from '../predictions';
import { readEventStream, type StreamEvent } from './sse-reader';
import type { StreamHosts } from './stream-hosts';

export interface FollowHandlers {
  /** A chunk of text, exactly as sent. */
  onText: (text: string) => void;
  /** One output file's URL, in output order. */
  onFile: (url: string) => void;
  /** A `logs` event's text. */
  onLogs?: (text: string) => void;
  /** A drop is being resumed: attempt 1, 2...; or, with `polling`, given up on for polls. */
  onReconnect?: (attempt: number, polling: boolean) => void;
}

export interface ResumePolicy {
  /** Attempts to resume one prediction's stream, in all, before polling instead. */
  tries: number;
  /** The first wait; each next one doubles, up to maxDelayMs. */
  delayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESUME: ResumePolicy = { tries: 3, delayMs: 250, maxDelayMs: 4000 };

export interface FollowOptions extends Progress {
  /** Where the stream connections go (the node's own, so closing it leaves no socket open). */
  connections: Dispatcher;
  /** Where a stream may be read from (the account's). */
  hosts: StreamHosts;
  /** The most a stream may send (its text, or its file URLs), in bytes: the account's largest download. */
  maxBytes: number;
  resume?: ResumePolicy;
}

/** A stream of files rather than text: the official clients tell it by its path. */
export function isFileStream(url: string): boolean {
  try {
    return new URL(url).pathname.startsWith('/v1/files/');
  } catch {
    return false;
  }
}

const FILE_URL = /^(data:[^,]*,|https?:\/\/\S+$)/i;

/** The output's file URLs when it is files (a URL, or a list of them); undefined when it is anything else. */
export function outputFileUrls(output: unknown): string[] | undefined {
  const items = typeof output === 'string' ? [output] : Array.isArray(output) ? (output as unknown[]) : [];
  if (items.length === 0) return undefined;
  return items.every((item): item is string => typeof item === 'string' && FILE_URL.test(item)) ? items : undefined;
}

/** What a stream has delivered: enough to send the rest exactly once, bounded by maxBytes. */
export class Delivered {
  chars = 0;
  files = 0;
  private bytes = 0;
  private readonly digest: Hash = createHash('sha256');

  constructor(private readonly maxBytes: number) {}

  text(text: string): void {
    this.count(text);
    this.chars += text.length;
    this.digest.update(text);
  }

  file(url: string): void {
    this.count(url);
    this.files++;
  }

  /** What the finished output's text holds beyond what was delivered; nothing when it does not continue it (never a duplicate). */
  restOf(output: unknown): string {
    const whole = joinedOutput(output);
    if (whole === undefined || whole.length < this.chars) return '';
    const sent = createHash('sha256').update(whole.slice(0, this.chars)).digest('hex');
    return sent === this.digest.copy().digest('hex') ? whole.slice(this.chars) : '';
  }

  private count(text: string): void {
    this.bytes += Buffer.byteLength(text);
    if (this.bytes > this.maxBytes)
      throw new ReplicateError(
        'streams.textTooLarge',
        { max: Math.round(this.maxBytes / 1_000_000) },
        { code: 'bad-response', retryable: false },
      );
  }
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
    const files = outputFileUrls(output);
    if (files) for (const file of files) handlers.onFile(file);
    else if (typeof output === 'string' && output !== '') handlers.onText(output);
    else if (Array.isArray(output)) for (const item of output) if (typeof item === 'string' && item !== '') handlers.onText(item);
    return finished;
  }

  options.hosts.check(url); // before any request goes there
  const files = isFileStream(url);
  const delivered = new Delivered(options.maxBytes);
  let lastEventId: string | undefined;
  let resumes = 0;
  let hintMs: number | undefined;
  const policy = options.resume ?? DEFAULT_RESUME;
  const headers = client.headersFor(url, 'text/event-stream');
  const onEvent = (event: StreamEvent) => {
    if (event.id !== undefined) lastEventId = event.id;
    if (event.event === 'output') {
      if (files) {
        delivered.file(event.data);
        handlers.onFile(event.data);
      } else {
        delivered.text(event.data);
        handlers.onText(event.data);
      }
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
    // counted per prediction: a stream that keeps dropping after an event or two is not resumed forever
    resumes++;
    if ((end.kind === 'refused' && !end.retryable) || resumes > policy.tries) {
      handlers.onReconnect?.(resumes, true);
      break; // cannot be resumed: the polls below find the rest
    }
    handlers.onReconnect?.(resumes, false);
    const delay = Math.min(policy.maxDelayMs, Math.max(hintMs ?? 0, policy.delayMs * 2 ** (resumes - 1)));
    await pauseBeforeRetry(delay, signal);
  }
  // The final GET (and polls, when the stream was given up before the end).
  const finished = await awaitPrediction(client, poller, created.id, plan, options);
  if (files) for (const file of outputFileUrls(finished.output)?.slice(delivered.files) ?? []) handlers.onFile(file);
  else {
    const rest = delivered.restOf(finished.output);
    if (rest) handlers.onText(rest);
  }
  return finished;
}
