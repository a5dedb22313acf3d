// When a failed request is sent again, and after how long.
import { abortedError, type ReplicateError } from './errors';
import type { Problem } from './schemas';

/**
 * `create` spends money, so it is repeated only when Replicate certainly did not start it:
 * a 429, or a connection that was never made. Reads and cancels are safe to repeat.
 */
export type RequestKind = 'create' | 'read' | 'cancel';

export interface RetryOptions {
  /** Further attempts after the first one. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out: the error goes to the flow instead. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 120_000,
};

export function shouldRetry(kind: RequestKind, err: ReplicateError, attempt: number, options: RetryOptions): boolean {
  if (attempt >= options.maxRetries || !err.retryable) return false;
  if (err.code === 'rate-limited') return (err.retryAfterMs ?? 0) <= options.maxRetryAfterMs;
  return kind !== 'create' || err.notSent;
}

/** A create that failed this way may still have started a prediction (a 5xx, a timeout, a dropped answer). */
export function createMayHaveHappened(err: unknown): boolean {
  if (!(err instanceof Error) || !('retryable' in err)) return false;
  const e = err as ReplicateError;
  return e.retryable && !e.notSent && e.code !== 'rate-limited';
}

/** Replicate's advice for a 429 (plus a little jitter so a queue does not return as one burst), else capped exponential backoff with full jitter. */
export function retryDelayMs(err: ReplicateError, attempt: number, options: RetryOptions, random = Math.random): number {
  if (err.code === 'rate-limited' && err.retryAfterMs !== undefined) {
    return err.retryAfterMs + Math.floor(random() * Math.min(1000, options.baseDelayMs));
  }
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  return Math.max(options.baseDelayMs / 2, Math.floor(random() * ceiling));
}

// How long Replicate asks a throttled client to wait: the Retry-After header (seconds or an
// HTTP date), else `retry_after` in the body, else the "~30s" in the detail text
// ("Request was throttled. Your rate limit resets in ~30s.").
export function parseRetryAfter(header: string | string[] | undefined, problem: Problem, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value !== undefined && value.trim() !== '') {
    const seconds = Number(value);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  if (typeof problem.retry_after === 'number' && problem.retry_after >= 0) return Math.round(problem.retry_after * 1000);
  const hinted = /~\s*(\d+(?:\.\d+)?)\s*s\b/.exec(problem.detail ?? '') ?? /in (\d+(?:\.\d+)?) seconds?\b/.exec(problem.detail ?? '');
  if (hinted?.[1]) return Math.round(Number(hinted[1]) * 1000);
  return undefined;
}

/**
 * Waits `ms` before trying again (a request, a download, a stream's resume); rejects with the
 * aborted error as soon as one of the signals aborts, and leaves no timer behind.
 */
export function pauseBeforeRetry(ms: number, ...signals: Array<AbortSignal | undefined>): Promise<void> {
  const watched = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  if (watched.some((signal) => signal.aborted)) return Promise.reject(abortedError());
  return new Promise((resolve, reject) => {
    const stop = (aborted: boolean) => {
      clearTimeout(timer);
      for (const signal of watched) signal.removeEventListener('abort', onAbort);
      if (aborted) reject(abortedError());
      else resolve();
    };
    const onAbort = () => stop(true);
    const timer = setTimeout(() => stop(false), ms);
    for (const signal of watched) signal.addEventListener('abort', onAbort, { once: true });
  });
}
