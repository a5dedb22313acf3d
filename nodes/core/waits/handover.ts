// The waits a closing node hands to the node that replaces it in a redeploy: kept by node id for a
// short grace, taken by the successor when it starts on the same account. What no successor takes
// (the node is gone, or now uses another account) is given back to the one who handed it over, to
// warn with the ids.

/** How long a handed-over wait waits for its successor; an object, so that tests can shorten it. */
export const HANDOVER_GRACE = { ms: 5000 };

/** Why nobody took the waits: the deploy has started every node (`deployed`), or the grace ran out (`timeout`). */
export type Unclaimed = 'deployed' | 'timeout' | 'other-account';

interface Entry<W> {
  account: string;
  waits: W[];
  unclaimed: (waits: W[], why: Unclaimed) => void;
  timer: NodeJS.Timeout;
}

export class Handovers<W> {
  private readonly entries = new Map<string, Entry<W>>();

  /** Waits handed over by the node `key` of `account`; `unclaimed` hears of them if nobody takes them. */
  put(key: string, account: string, waits: W[], unclaimed: (waits: W[], why: Unclaimed) => void): void {
    this.expire(key, 'deployed'); // an earlier handover nobody took
    if (waits.length === 0) return;
    const timer = setTimeout(() => this.expire(key, 'timeout'), HANDOVER_GRACE.ms);
    timer.unref();
    this.entries.set(key, { account, waits, unclaimed, timer });
  }

  /** The waits handed over for `key`, once; none when there are none or they belong to another account. */
  take(key: string, account: string): W[] {
    const entry = this.entries.get(key);
    if (!entry) return [];
    if (entry.account !== account) {
      this.expire(key, 'other-account');
      return [];
    }
    clearTimeout(entry.timer);
    this.entries.delete(key);
    return entry.waits;
  }

  /** After a deploy has started its nodes: whatever is left has no successor. */
  expireAll(): void {
    for (const key of [...this.entries.keys()]) this.expire(key, 'deployed');
  }

  get size(): number {
    return this.entries.size;
  }

  private expire(key: string, why: Unclaimed): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.entries.delete(key);
    entry.unclaimed(entry.waits, why);
  }
}
