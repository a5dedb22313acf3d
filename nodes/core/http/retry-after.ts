// How long Replicate asks a throttled client to wait: the Retry-After header (seconds or an
// HTTP date), else `retry_after` in the body, else the "~30s" in the detail text
// ("Request was throttled. Your rate limit resets in ~30s.").
import type { Problem } from './schemas';

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
