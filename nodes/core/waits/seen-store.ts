// The prediction completed node's recent deliveries (webhook ids, predictions reported finished)
// saved in a context store, so that a delivery Replicate repeats after a restart is still known as
// a repeat. Bounded like the receiver's own memory: the newest entries, each for a day.
import { createHash } from 'crypto';
import type { WaitContext } from './wait-store';

const ROOT = 'replicateDeliveries';

export type SeenKind = 'delivery' | 'prediction';

export class SeenStore {
  /** key → expiry, oldest first. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly context: WaitContext,
    private readonly store: string | undefined,
    private readonly maxSize = 20_000,
    private readonly ttlMs = 24 * 60 * 60 * 1000,
  ) {}

  private static keyOf(kind: SeenKind, id: string): string {
    return `k${createHash('sha256').update(`${kind}\n${id}`).digest('hex').slice(0, 24)}`;
  }

  /** Reads what was saved before the restart; expired and surplus entries are removed. */
  async load(now = Date.now()): Promise<void> {
    const saved = await new Promise<unknown>((resolve, reject) =>
      this.context.get(ROOT, this.store, (err, value) => (err ? reject(err) : resolve(value))),
    );
    if (saved === null || typeof saved !== 'object') return;
    const entries = Object.entries(saved as Record<string, unknown>)
      .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
      .sort((a, b) => a[1] - b[1]);
    const stale = entries.filter(([, expires]) => expires <= now);
    const live = entries.filter(([, expires]) => expires > now);
    const surplus = live.splice(0, Math.max(0, live.length - this.maxSize));
    for (const [key, expires] of live) this.seen.set(key, expires);
    await Promise.all([...stale, ...surplus].map(([key]) => this.set(key, undefined)));
  }

  has(kind: SeenKind, id: string, now = Date.now()): boolean {
    const expires = this.seen.get(SeenStore.keyOf(kind, id));
    return expires !== undefined && expires > now;
  }

  add(kind: SeenKind, id: string, now = Date.now()): Promise<void> {
    const key = SeenStore.keyOf(kind, id);
    const expires = now + this.ttlMs;
    this.seen.delete(key);
    this.seen.set(key, expires);
    const writes = [this.set(key, expires)];
    while (this.seen.size > this.maxSize) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
      writes.push(this.set(oldest, undefined));
    }
    return Promise.all(writes).then(() => undefined);
  }

  get size(): number {
    return this.seen.size;
  }

  private set(key: string, value: unknown): Promise<void> {
    return new Promise((resolve, reject) =>
      this.context.set(`${ROOT}.${key}`, value, this.store, (err) => (err ? reject(err) : resolve())),
    );
  }
}
