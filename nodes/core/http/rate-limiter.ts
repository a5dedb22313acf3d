// A token bucket sized to Replicate's published limits (600 creates/min, 3000 other
// requests/min), so a burst of messages queues here instead of tripping 429s. One timer,
// however many requests wait.
import { WaitQueue } from './wait-queue';

export class RateLimiter {
  private readonly perMs: number;
  private readonly capacity: number;
  private tokens: number;
  private refilledAt: number;
  private readonly queue = new WaitQueue();
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

  /** Takes a turn when one is free now and nobody is waiting; false when the caller must acquire(). */
  tryAcquire(): boolean {
    if (this.closedWith) return false;
    if (this.perMinute <= 0) return true;
    this.refill();
    if (this.queue.length > 0 || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.tryAcquire()) return Promise.resolve();
    const turn = this.queue.wait(signal);
    this.schedule();
    return turn;
  }

  /** Rejects everything still waiting; later calls fail at once. */
  close(reason: Error): void {
    this.closedWith = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.rejectAll(reason);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.refilledAt) * this.perMs);
    this.refilledAt = now;
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(1, Math.ceil((1 - this.tokens) / this.perMs));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.tokens >= 1 && this.queue.release()) this.tokens -= 1;
      this.schedule();
    }, wait);
  }
}
