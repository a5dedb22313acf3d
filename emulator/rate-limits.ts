// Replicate's rate limits, per account: 600 prediction creates a minute, 3000 other requests a
// minute, and 6 creates a minute with a burst of 1 for an account with less than $5 of credit.
// A request over its limit gets 429 with `retry_after` (seconds) in the body, as Replicate answers.
import { problem, type ApiResponse } from './responses';
import type { RateLimit, RateLimits } from './types';

export const REPLICATE_RATE_LIMITS: Required<RateLimits> = {
  create: { perMinute: 600, burst: 600 },
  other: { perMinute: 3000, burst: 3000 },
  lowCreditCreate: { perMinute: 6, burst: 1 },
};

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly limits: Required<RateLimits>;
  private readonly buckets = new Map<string, Bucket>();

  constructor(limits: RateLimits) {
    this.limits = { ...REPLICATE_RATE_LIMITS, ...limits };
    for (const [name, limit] of Object.entries(this.limits))
      if (!(limit.perMinute > 0 && limit.burst >= 1)) throw new Error(`rateLimits.${name} needs perMinute > 0 and burst >= 1`);
  }

  /** The 429 for a request over its limit, or undefined when it may go ahead (and is counted). */
  take(username: string, isCreate: boolean, lowCredit: boolean, now = Date.now()): ApiResponse | undefined {
    const kind = !isCreate ? 'other' : lowCredit ? 'lowCreditCreate' : 'create';
    const limit: RateLimit = this.limits[kind];
    const key = `${kind}:${username}`;
    const perMs = limit.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    const seconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    const detail =
      kind === 'lowCreditCreate'
        ? `Request was throttled. Your rate limit for creating predictions is reduced to ${limit.perMinute} requests per minute with a burst of ${limit.burst} requests until you have at least $5.00 in credit. Your rate limit resets in ~${seconds}s.`
        : `Request was throttled. Your rate limit resets in ~${seconds}s.`;
    return problem(429, 'Request was throttled', detail, { retry_after: seconds });
  }

  clear(): void {
    this.buckets.clear();
  }
}
