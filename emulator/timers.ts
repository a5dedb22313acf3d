// Every timer the emulator starts goes through here, so close() can cancel them all and leave
// nothing keeping the process alive.

export interface Sleep {
  done: Promise<void>;
  /** Ends the sleep early (a closure: pass it around freely). */
  wake: () => void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private readonly sleeps = new Set<() => void>();
  private isStopped = false;

  get stopped(): boolean {
    return this.isStopped;
  }

  /** Runs fn after ms; delays beyond what setTimeout supports (~24.8 days) never fire. */
  after(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (this.isStopped || ms > MAX_TIMER_MS) return undefined;
    const timer = setTimeout(
      () => {
        this.pending.delete(timer);
        fn();
      },
      Math.max(0, ms),
    );
    this.pending.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.pending.delete(timer);
  }

  /** Resolves after ms, on wake(), or when the timers are stopped. */
  sleep(ms: number): Sleep {
    let wake = (): void => undefined;
    const done = new Promise<void>((resolve) => {
      const timer = this.after(ms, () => wake());
      wake = () => {
        this.cancel(timer);
        this.sleeps.delete(wake);
        resolve();
      };
      if (this.isStopped) resolve();
      else this.sleeps.add(wake);
    });
    return { done, wake: () => wake() };
  }

  stop(): void {
    this.isStopped = true;
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
    for (const wake of [...this.sleeps]) wake();
  }
}
