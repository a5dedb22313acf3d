// A token bucket sized to Replicate's published limits (600 creates/min, 3000 other
// requests/min), so a burst of messages queues here instead of tripping 429s. One timer,
// however many requests wait.
export class RateLimiter {
  private readonly perMs: number;
  private readonly capacity: number;
  private tokens: number;
  private refilledAt: number;
  private readonly waiting: Array<{ resolve: () => void; reject: (err: Error) => void; signal?: AbortSignal; onAbort?: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private closedWith: Error | undefined;

  /** `perMinute` of 0 (or less) means no limit. The bucket holds one second's worth, at least one. */
  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, perMinute / 60);
    this.tokens = this.capacity;
    this.refilledAt = now();
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.perMinute <= 0) return Promise.resolve();
    this.refill();
    if (this.waiting.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry: (typeof this.waiting)[number] = { resolve, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.waiting.push(entry);
      this.schedule();
    });
  }

  /** Rejects everything still waiting; later calls fail at once. */
  close(reason: Error): void {
    this.closedWith = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of this.waiting.splice(0)) {
      if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
      entry.reject(reason);
    }
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.refilledAt) * this.perMs);
    this.refilledAt = now;
  }

  private schedule(): void {
    if (this.timer || this.waiting.length === 0) return;
    const wait = Math.max(1, Math.ceil((1 - this.tokens) / this.perMs));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.tokens >= 1 && this.waiting.length > 0) {
        const entry = this.waiting.shift()!;
        if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
        this.tokens -= 1;
        entry.resolve();
      }
      this.schedule();
    }, wait);
  }
}
