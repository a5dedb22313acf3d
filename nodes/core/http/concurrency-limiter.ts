// At most `max` requests in flight per config node; the rest wait their turn in order.
import { WaitQueue } from './wait-queue';

export class ConcurrencyLimiter {
  private active = 0;
  private readonly queue = new WaitQueue();
  private closedWith: Error | undefined;

  constructor(readonly max: number) {}

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.enter(signal);
    try {
      return await task();
    } finally {
      this.leave();
    }
  }

  close(reason: Error): void {
    this.closedWith = reason;
    this.queue.rejectAll(reason);
  }

  private enter(signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return this.queue.wait(signal);
  }

  private leave(): void {
    // The slot passes straight to the next in line, so nobody arriving meanwhile can take it.
    if (!this.queue.release()) this.active--;
  }
}
