// The waits concept without Node-RED: a message saved within its limit (Buffers back as Buffers,
// the payload dropped first, what JSON cannot hold left out), the wait store's order of writes and
// its instances, the handover's grace and accounts, and the saved deliveries' bound.
import should from 'should';
import { HANDOVER_GRACE, Handovers, restoreMessage, saveMessage, SeenStore, WaitStore, type WaitContext } from '../../nodes/core';

/** A context store in memory, its writes answered in a later turn, as a persistent store answers. */
function memoryContext(): WaitContext & { data: Record<string, unknown>; writes: Array<[string, unknown]> } {
  const data: Record<string, unknown> = {};
  const writes: Array<[string, unknown]> = [];
  const walk = (key: string, create: boolean) => {
    const parts = key.split('.');
    let node: Record<string, unknown> | undefined = data;
    for (const part of parts.slice(0, -1)) {
      if (!node) return { node: undefined, last: parts.at(-1)! };
      if (create && (node[part] === undefined || typeof node[part] !== 'object')) node[part] = {};
      node = node[part] as Record<string, unknown> | undefined;
    }
    return { node, last: parts.at(-1)! };
  };
  return {
    data,
    writes,
    get(key, _store, callback) {
      const { node, last } = walk(key, false);
      setImmediate(() => callback(null, node?.[last]));
    },
    set(key, value, _store, callback) {
      writes.push([key, value]);
      setTimeout(() => {
        const { node, last } = walk(key, true);
        if (value === undefined) delete node![last];
        else node![last] = value;
        callback(null);
      }, Math.random() * 5);
    },
  };
}

describe('waits: saved messages', () => {
  it('keeps every JSON property and Buffers as Buffers; leaves out msg.req, msg.res and what JSON cannot hold', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const msg = {
      _msgid: 'abc',
      topic: 'pets',
      order: { id: 7, lines: [1, 2] },
      attachment: Buffer.from([0, 1, 2, 255]),
      nested: { image: Buffer.from('png') },
      req: { headers: {} },
      res: { socket: 1 },
      cyclic,
      fn: () => 1,
    };
    const saved = saveMessage(msg);
    should(saved.payloadDropped).be.false();
    const back = restoreMessage(saved.json);
    should(back).eql({
      _msgid: 'abc',
      topic: 'pets',
      order: { id: 7, lines: [1, 2] },
      attachment: Buffer.from([0, 1, 2, 255]),
      nested: { image: Buffer.from('png') },
    });
    should(Buffer.isBuffer(back.attachment)).be.true();
  });

  it('drops the payload of a message over the limit, counting Buffers, and keeps the rest', () => {
    const saved = saveMessage({ topic: 'big', correlationId: 'job-7', payload: Buffer.alloc(800 * 1024) }, 1024 * 1024);
    should(saved.payloadDropped).be.true();
    should(restoreMessage(saved.json)).eql({ topic: 'big', correlationId: 'job-7' });
    const small = saveMessage({ topic: 'small', payload: Buffer.alloc(700 * 1024) }, 1024 * 1024);
    should(small.payloadDropped).be.false();
  });

  it('stays within the limit when other properties alone are too large, dropping the largest first', () => {
    const saved = saveMessage({ topic: 't', payload: 'p', huge: 'x'.repeat(2000), medium: 'y'.repeat(600) }, 1000);
    should(Buffer.byteLength(saved.json)).be.belowOrEqual(1000);
    should(restoreMessage(saved.json)).eql({ topic: 't', medium: 'y'.repeat(600) });
  });
});

describe('waits: the wait store', () => {
  it('saves and removes each wait in order, even when the removal is asked before the save has landed', async () => {
    const context = memoryContext();
    const store = new WaitStore(context, undefined, 'host:/data');
    const keys = Array.from({ length: 50 }, (_, i) => WaitStore.keyOf(`prediction${i}`, `msg${i}`));
    const writes = keys.flatMap((key, i) => [store.save(key, `prediction${i}`, { topic: i }), store.remove(key)]);
    await Promise.all(writes);
    should([...(await store.all()).keys()]).eql([]);
    await store.save(keys[0]!, 'prediction0', { topic: 'kept' });
    const all = await store.all();
    should(all.get(keys[0]!)).match({ predictionId: 'prediction0', payloadDropped: false });
  });

  it('keeps the waits of each instance apart, and one prediction waited on by two messages as two waits', async () => {
    const context = memoryContext();
    const a = new WaitStore(context, undefined, 'host-a:/data');
    const b = new WaitStore(context, undefined, 'host-b:/data');
    await a.save(WaitStore.keyOf('p1', 'm1'), 'p1', { topic: 1 });
    await a.save(WaitStore.keyOf('p1', 'm2'), 'p1', { topic: 2 });
    await b.save(WaitStore.keyOf('p2', 'm3'), 'p2', { topic: 3 });
    should([...(await a.all()).values()].map((w) => restoreMessage(w.msg).topic).sort()).eql([1, 2]);
    should([...(await b.all()).values()].map((w) => w.predictionId)).eql(['p2']);
  });

  it('saves nothing for a prediction id that cannot be a key, and reads past entries that are not waits', async () => {
    const context = memoryContext();
    const store = new WaitStore(context, undefined, 'host');
    await store.save('k1', '../__proto__', { topic: 1 });
    should(context.writes).have.length(0);
    await store.save('k2', 'p2', { topic: 2 });
    const root = Object.values(context.data.replicateWaits as Record<string, Record<string, unknown>>)[0]!;
    root.k3 = { predictionId: 'p3' }; // no message
    root.k4 = 'garbage';
    should([...(await store.all()).keys()]).eql(['k2']);
  });
});

describe('waits: the handover', () => {
  afterEach(() => (HANDOVER_GRACE.ms = 5000));

  it('gives the waits once to the successor on the same account', () => {
    const handovers = new Handovers<string>();
    const unclaimed: string[] = [];
    handovers.put('n1', 'cfg', ['w1', 'w2'], (waits, why) => unclaimed.push(`${why}:${waits.join(',')}`));
    should(handovers.take('n1', 'cfg')).eql(['w1', 'w2']);
    should(handovers.take('n1', 'cfg')).eql([]);
    should(unclaimed).eql([]);
  });

  it('gives nothing to a successor on another account, and tells the one who handed them over', () => {
    const handovers = new Handovers<string>();
    const unclaimed: string[] = [];
    handovers.put('n1', 'cfg', ['w1'], (waits, why) => unclaimed.push(`${why}:${waits.join(',')}`));
    should(handovers.take('n1', 'other')).eql([]);
    should(unclaimed).eql(['other-account:w1']);
    should(handovers.size).equal(0);
  });

  it('tells the one who handed them over when no successor came within the grace', async () => {
    HANDOVER_GRACE.ms = 20;
    const handovers = new Handovers<string>();
    const unclaimed: string[] = [];
    handovers.put('n1', 'cfg', ['w1'], (waits, why) => unclaimed.push(`${why}:${waits.join(',')}`));
    await new Promise((r) => setTimeout(r, 60));
    should(unclaimed).eql(['timeout:w1']);
    should(handovers.take('n1', 'cfg')).eql([]);
  });
});

describe('waits: the saved deliveries', () => {
  it('knows a delivery after a restart, forgets expired ones and keeps only the newest', async () => {
    const context = memoryContext();
    const before = new SeenStore(context, undefined, 3, 1000);
    const now = Date.now();
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) await before.add('delivery', id, now + i);
    await before.add('prediction', 'p1', now - 5000); // expired by now
    const after = new SeenStore(context, undefined, 3, 1000);
    await after.load(now + 10);
    should(['a', 'b', 'c', 'd'].map((id) => after.has('delivery', id, now + 10))).eql([false, false, true, true]);
    should(after.has('prediction', 'p1', now + 10)).be.false();
    should(after.has('prediction', 'd', now + 10)).be.false(); // a kind of its own
    should(Object.keys(context.data.replicateDeliveries as object).length).be.belowOrEqual(3);
  });
});
