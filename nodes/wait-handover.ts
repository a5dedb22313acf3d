// The waits of a create or get node that outlive it. On a redeploy the closing node hands each
// wait (the incoming message as it was) to its successor: the node of the same id on the same
// account, which polls it to the end and sends its result. With its account's Keep waits across
// restarts, each wait is also saved in a context store when it starts and removed when it ends,
// and the node's first start in this process resumes what was saved.
import os from 'os';
import type { Node, NodeAPI } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import type { Msg } from './flow-node';
import type { ReplicateConfigNode } from './node-types';

export interface CarriedWait {
  predictionId: string;
  /** The incoming message: as it was on redeploy; after a restart, as saved, with msg.resumed. */
  msg: Msg;
  /** Its key in the wait store. */
  key: string;
  /** Where it is saved, when it is. */
  savedIn?: Core.WaitStore;
  /** A stream cut by the redeploy: the part that tells a join node its sequence ended (none when sent already). */
  closing?: () => Core.TextPart | undefined;
}

export interface NodeWaits {
  /** Counts the wait as the node's until the returned release; saves it when the account keeps waits. */
  track(predictionId: string, msg: Msg, carried?: Partial<CarriedWait>): () => void;
  /** Hands the waits to the successor, or (deleted, no successor) warns that their predictions keep running. */
  close(removed: boolean): void;
  /** Runs `handler` for each wait adopted from the predecessor, then (first start only) each one saved before a restart. */
  resume(handler: (wait: CarriedWait) => void): void;
}

interface Shared {
  handovers: Core.Handovers<CarriedWait>;
  /** Nodes started already in this process: only their first start reads the saved waits. */
  started: Set<string>;
}

// Per runtime (the node test helper starts a fresh one for each flow it loads).
const shared = new WeakMap<NodeAPI, Shared>();

function sharedOf(RED: NodeAPI): Shared {
  let s = shared.get(RED);
  if (!s) shared.set(RED, (s = { handovers: new (core().Handovers)<CarriedWait>(), started: new Set() }));
  return s;
}

/** Which Node-RED saves: instances sharing a store each resume their own waits. */
function instanceName(RED: NodeAPI): string {
  const userDir = (RED.settings as { userDir?: unknown }).userDir;
  return process.env.REPLICATE_WAITS_INSTANCE?.trim() || `${os.hostname()}:${typeof userDir === 'string' ? userDir : ''}`;
}

/** The node's id as it stays across deploys: inside a subflow instance, the id it has in the subflow. */
function stableId(node: Node): string {
  const alias = (node as Node & { _alias?: string })._alias;
  return alias ? `${node.z}/${alias}` : node.id;
}

export function nodeWaits(
  RED: NodeAPI,
  node: Node,
  config: ReplicateConfigNode | undefined,
  say: (what: Core.Sentence) => string,
): NodeWaits {
  const { handovers, started } = sharedOf(RED);
  const id = stableId(node);
  const store = config?.keepWaits ? new (core().WaitStore)(node.context(), config.waitStore, instanceName(RED)) : undefined;
  const tracked = new Map<symbol, CarriedWait>();
  let closed = false;

  const forget = (wait: CarriedWait) => void wait.savedIn?.remove(wait.key).catch(() => undefined);
  const warn = (waits: CarriedWait[], key: 'keepsRunning' | 'otherAccount') => {
    for (const predictionId of new Set(waits.map((w) => w.predictionId)))
      node.warn(say({ key: `node.${key}`, vars: { id: predictionId } }));
  };

  return {
    track(predictionId, msg, carried = {}) {
      const wait: CarriedWait = { key: core().WaitStore.keyOf(predictionId, msg._msgid), ...carried, predictionId, msg };
      if (wait.savedIn && wait.savedIn !== store) {
        // Taken over: saved again by this node (a deploy may clean the node's context), or no more.
        if (!store || wait.savedIn.store !== store.store) forget(wait);
        wait.savedIn = undefined;
      }
      if (store && !wait.savedIn) {
        wait.savedIn = store;
        store.save(wait.key, predictionId, msg).catch((err: Error) => {
          node.warn(say({ key: 'node.waitNotSaved', vars: { id: predictionId, error: core().errorVar(err) } }));
        });
      }
      const ref = Symbol(predictionId);
      tracked.set(ref, wait);
      return () => {
        if (closed) return; // handed over or kept for a restart
        tracked.delete(ref);
        forget(wait);
      };
    },

    close(removed) {
      closed = true;
      const waits = [...tracked.values()];
      tracked.clear();
      if (removed || !config) {
        warn(waits, 'keepsRunning');
        waits.forEach(forget);
        return;
      }
      handovers.put(id, config.id, waits, (unclaimed, why) => {
        if (why === 'other-account') {
          warn(unclaimed, 'otherAccount');
          unclaimed.forEach(forget);
        } else {
          // No successor (Node-RED stops): what is saved resumes at the next start.
          warn(
            unclaimed.filter((w) => !w.savedIn),
            'keepsRunning',
          );
        }
      });
    },

    resume(handler) {
      const adopted = config ? handovers.take(id, config.id) : [];
      for (const wait of adopted) handler(wait);
      const firstStart = !started.has(id);
      started.add(id);
      if (!store || !firstStart) return;
      const known = new Set(adopted.map((w) => w.key));
      store.all().then(
        (saved) => {
          for (const [key, s] of saved) {
            if (closed || known.has(key)) continue;
            const msg = core().restoreMessage(s.msg) as Msg;
            msg.resumed = s.payloadDropped ? { restarted: true, payloadDropped: true } : { restarted: true };
            handler({ predictionId: s.predictionId, msg, key, savedIn: store });
          }
        },
        (err: Error) => node.warn(say({ key: 'node.waitsUnreadable', vars: { error: core().errorVar(err) } })),
      );
    },
  };
}

/** The part after `last` that closes a stream's sequence for a join node: an empty payload, the count, complete. */
export function closingPart(last: Core.TextPart | undefined, predictionId: string, outer: unknown): Core.TextPart | undefined {
  if (last?.complete) return undefined;
  const index = last ? last.parts.index + 1 : 0;
  const parts: Core.TextParts = { ...(last?.parts ?? { id: predictionId, index, type: 'string', ch: '' }), index, count: index + 1 };
  if (!last && outer !== undefined) parts.parts = outer;
  return { payload: '', parts, complete: true };
}
