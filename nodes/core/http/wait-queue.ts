// Callers waiting their turn, first come first served; a caller whose signal aborts leaves the line.
import { AbortListeners, type AbortWatcher } from './abort-listeners';

class Waiter implements AbortWatcher {
  done = false;

  constructor(
    private readonly queue: WaitQueue,
    readonly resolve: () => void,
    readonly reject: (err: Error) => void,
    readonly signal: AbortSignal | undefined,
  ) {}

  onAbort(reason: Error): void {
    if (this.done) return;
    this.queue.leave(this);
    this.reject(reason);
  }
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
      const waiter = new Waiter(this, resolve, reject, signal);
      this.items.push(waiter);
      this.waiting++;
      if (signal) this.listeners.add(signal, waiter);
    });
  }

  /** Lets the first waiter go; false when nobody waits. */
  release(): boolean {
    while (this.head < this.items.length) {
      const waiter = this.items[this.head++]!;
      if (waiter.done) continue;
      this.leave(waiter);
      this.compact();
      waiter.resolve();
      return true;
    }
    this.compact();
    return false;
  }

  rejectAll(reason: Error): void {
    const pending = this.items.slice(this.head).filter((waiter) => !waiter.done);
    for (const waiter of pending) this.leave(waiter);
    this.items = [];
    this.head = 0;
    for (const waiter of pending) waiter.reject(reason);
  }

  /** Takes a waiter out of the line (it is let go, rejected or gave up). */
  leave(waiter: Waiter): void {
    waiter.done = true;
    this.waiting--;
    if (waiter.signal) this.listeners.remove(waiter.signal, waiter);
  }

  /** Drops the released part of the array now and then, so it does not grow without end. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
