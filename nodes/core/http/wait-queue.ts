// Callers waiting their turn, first come first served. Many callers share one AbortSignal (a
// node's, a poller's), so each signal gets one abort listener however many of its callers wait:
// thousands of listeners on one signal make every add and remove slow.
interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  signal?: AbortSignal;
  done: boolean;
}

export class WaitQueue {
  private items: Waiter[] = [];
  private head = 0;
  private waiting = 0;
  private readonly bySignal = new Map<AbortSignal, { waiters: Set<Waiter>; onAbort: () => void }>();

  get length(): number {
    return this.waiting;
  }

  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, done: false };
      this.items.push(waiter);
      this.waiting++;
      if (signal) this.watch(signal, waiter);
    });
  }

  /** Lets the first waiter go; false when nobody waits. */
  release(): boolean {
    while (this.head < this.items.length) {
      const waiter = this.items[this.head++]!;
      if (waiter.done) continue;
      this.settle(waiter);
      this.compact();
      waiter.resolve();
      return true;
    }
    this.compact();
    return false;
  }

  rejectAll(reason: Error): void {
    const pending = this.items.slice(this.head).filter((waiter) => !waiter.done);
    for (const waiter of pending) this.settle(waiter);
    this.items = [];
    this.head = 0;
    for (const waiter of pending) waiter.reject(reason);
  }

  private watch(signal: AbortSignal, waiter: Waiter): void {
    let entry = this.bySignal.get(signal);
    if (!entry) {
      const waiters = new Set<Waiter>();
      const onAbort = () => {
        this.bySignal.delete(signal);
        for (const w of waiters) {
          w.done = true;
          this.waiting--;
          w.reject(signal.reason as Error);
        }
      };
      entry = { waiters, onAbort };
      this.bySignal.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    entry.waiters.add(waiter);
  }

  private settle(waiter: Waiter): void {
    waiter.done = true;
    this.waiting--;
    if (!waiter.signal) return;
    const entry = this.bySignal.get(waiter.signal);
    if (!entry) return;
    entry.waiters.delete(waiter);
    if (entry.waiters.size === 0) {
      waiter.signal.removeEventListener('abort', entry.onAbort);
      this.bySignal.delete(waiter.signal);
    }
  }

  /** Drops the released part of the array now and then, so it does not grow without end. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
