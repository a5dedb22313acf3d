// Callers waiting their turn, first come first served; a caller whose signal aborts leaves the line.
import { AbortListeners } from './abort-listeners';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  /** Stops listening to the waiter's signal. */
  unwatch?: () => void;
  done: boolean;
}

export class WaitQueue {
  private items: Waiter[] = [];
  private head = 0;
  private waiting = 0;
  private readonly listeners = new AbortListeners();

  get length(): number {
    return this.waiting;
  }

  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, done: false };
      this.items.push(waiter);
      this.waiting++;
      if (signal) {
        waiter.unwatch = this.listeners.add(signal, () => {
          if (waiter.done) return;
          this.settle(waiter);
          reject(signal.reason as Error);
        });
      }
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

  private settle(waiter: Waiter): void {
    waiter.done = true;
    this.waiting--;
    waiter.unwatch?.();
  }

  /** Drops the released part of the array now and then, so it does not grow without end. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
