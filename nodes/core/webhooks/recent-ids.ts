// A bounded memory of ids seen lately (webhook deliveries, predictions already reported), so a
// repeated or reordered delivery is acknowledged without being emitted twice.
export class RecentIds {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxSize = 20_000,
    private readonly ttlMs = 24 * 60 * 60 * 1000,
  ) {}

  has(id: string, now = Date.now()): boolean {
    const expires = this.seen.get(id);
    if (expires === undefined) return false;
    if (expires > now) return true;
    this.seen.delete(id);
    return false;
  }

  add(id: string, now = Date.now()): void {
    this.seen.delete(id); // re-inserted at the end: Map order is age order
    this.seen.set(id, now + this.ttlMs);
    while (this.seen.size > this.maxSize) this.seen.delete(this.seen.keys().next().value as string);
  }

  get size(): number {
    return this.seen.size;
  }
}
