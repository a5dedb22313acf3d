// Small helpers shared by the benchmarks.

export const MB = 1024 * 1024;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The value below which `p` percent of the values lie (nearest rank): p95 of 21 rounds is the 20th smallest. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Resolves once `check()` is true; rejects after timeoutMs naming what was awaited. */
export async function until(check: () => boolean, timeoutMs: number, what: string | (() => string), everyMs = 5): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > giveUpAt) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(everyMs);
  }
}

/** Heap in use after a full collection (needs --expose-gc; falls back to the current figure). */
export function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Samples memory every `everyMs` until stopped: peak heap and RSS, without forcing collections. */
export function memorySampler(everyMs = 10): { stop(): { peakHeap: number; peakRss: number } } {
  let peakHeap = 0;
  let peakRss = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    peakRss = Math.max(peakRss, usage.rss);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakHeap, peakRss };
    },
  };
}

export const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** Counts arrivals and lets a benchmark await a total, with a deadline. */
export class Tally {
  count = 0;
  private waiters: Array<{ total: number; resolve: () => void }> = [];

  add(by = 1): void {
    this.count += by;
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => this.count >= w.total);
    this.waiters = this.waiters.filter((w) => this.count < w.total);
    for (const waiter of due) waiter.resolve();
  }

  reset(): void {
    this.count = 0;
  }

  /** Resolves once `total` have arrived; rejects after timeoutMs with the count so far. */
  reached(total: number, timeoutMs: number, what: string): Promise<void> {
    if (this.count >= total) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        total,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`Timed out after ${timeoutMs} ms: ${this.count} of ${total} ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

/** Runs `task(i)` for i < count with at most `concurrency` at once. */
export async function pooled(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await task(next++);
  });
  await Promise.all(lanes);
}

/** A promise-returning function run with at most `max` at once, the rest queued in order. */
export function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  const release = () => {
    active--;
    queue.shift()?.();
  };
  return <T>(task: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const start = () => {
        active++;
        task().then(resolve, reject).finally(release);
      };
      if (active < max) start();
      else queue.push(start);
    });
}
