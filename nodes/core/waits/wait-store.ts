// The waits of one node saved in a Node-RED context store (the node's own context, in the store its
// account names), so that a restart can resume them: one entry per wait, written when the wait
// starts and removed when its result is sent. Entries live under the instance that saved them,
// so Node-RED instances sharing a store resume only their own. Writes of one wait are kept in
// order: a removal never overtakes the save it follows.
import { createHash } from 'crypto';
import { SAVED_MESSAGE_LIMIT, saveMessage } from './saved-message';

/** The part of a Node-RED context this needs (callback style, any store). */
export interface WaitContext {
  get(key: string, store: string | undefined, callback: (err: Error | null | undefined, value?: unknown) => void): void;
  set(key: string, value: unknown, store: string | undefined, callback: (err?: Error | null) => void): void;
}

export interface SavedWait {
  predictionId: string;
  /** The incoming message, as saveMessage wrote it. */
  msg: string;
  payloadDropped: boolean;
  savedAt: number;
}

const ROOT = 'replicateWaits';
const SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** A key safe in a context property path, for any text (an instance name, a message id). */
function keyOf(text: string): string {
  return `k${createHash('sha256').update(text).digest('hex').slice(0, 20)}`;
}

function isSavedWait(value: unknown): value is SavedWait {
  const w = value as SavedWait | null;
  return (
    typeof w === 'object' && w !== null && typeof w.predictionId === 'string' && SAFE_ID.test(w.predictionId) && typeof w.msg === 'string'
  );
}

export class WaitStore {
  private readonly root: string;
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly context: WaitContext,
    /** A contextStorage name; undefined: the default store. */
    readonly store: string | undefined,
    /** Which Node-RED instance saves (host and user dir): instances sharing a store keep apart. */
    instance: string,
    private readonly limit = SAVED_MESSAGE_LIMIT,
  ) {
    this.root = `${ROOT}.${keyOf(instance)}`;
  }

  /** The key of one wait: a prediction can be waited on by several messages. */
  static keyOf(predictionId: string, msgId: unknown): string {
    return keyOf(`${predictionId}\n${typeof msgId === 'string' ? msgId : ''}`);
  }

  /** Saves the wait; false when its prediction id cannot be a key (nothing is saved). */
  save(key: string, predictionId: string, msg: Record<string, unknown>, now = Date.now()): Promise<void> {
    if (!SAFE_ID.test(predictionId)) return Promise.resolve();
    const { json, payloadDropped } = saveMessage(msg, this.limit);
    const wait: SavedWait = { predictionId, msg: json, payloadDropped, savedAt: now };
    return this.inOrder(key, () => this.set(`${this.root}.${key}`, wait));
  }

  remove(key: string): Promise<void> {
    return this.inOrder(key, () => this.set(`${this.root}.${key}`, undefined));
  }

  /** Every wait this instance saved, by key. */
  async all(): Promise<Map<string, SavedWait>> {
    const saved = await new Promise<unknown>((resolve, reject) =>
      this.context.get(this.root, this.store, (err, value) => (err ? reject(err) : resolve(value))),
    );
    const waits = new Map<string, SavedWait>();
    if (saved === null || typeof saved !== 'object') return waits;
    for (const [key, value] of Object.entries(saved)) if (isSavedWait(value)) waits.set(key, value);
    return waits;
  }

  private set(path: string, value: unknown): Promise<void> {
    return new Promise((resolve, reject) => this.context.set(path, value, this.store, (err) => (err ? reject(err) : resolve())));
  }

  private inOrder(key: string, write: () => Promise<void>): Promise<void> {
    const next = (this.pending.get(key) ?? Promise.resolve()).catch(() => undefined).then(write);
    this.pending.set(key, next);
    const settled = () => {
      if (this.pending.get(key) === next) this.pending.delete(key);
    };
    next.then(settled, settled);
    return next;
  }
}
