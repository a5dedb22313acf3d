// At most `max` requests in flight per config node; the rest wait their turn in order.
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<{ start: () => void; reject: (err: Error) => void; signal?: AbortSignal; onAbort?: () => void }> = [];
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
    for (const entry of this.waiting.splice(0)) {
      if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
      entry.reject(reason);
    }
  }

  private enter(signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry: (typeof this.waiting)[number] = {
        start: () => {
          this.active++;
          resolve();
        },
        reject,
        signal,
      };
      if (signal) {
        entry.onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.waiting.push(entry);
    });
  }

  private leave(): void {
    this.active--;
    const next = this.waiting.shift();
    if (next) {
      if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
      next.start();
    }
  }
}
