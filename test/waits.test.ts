// Waits that outlive their node: a create or get node redeployed mid-wait (any deploy type) sends
// the result once, through the new node, with the message it took in; a node deleted or moved to
// another account warns with the ids and cancels nothing; a stream cut by a redeploy is closed for
// a join node and ends on output 2; with Keep waits across restarts each wait is in the store while
// it runs and gone once its result is sent.
import should from 'should';
import type { Node } from 'node-red';
import { DEFAULT_TOKEN } from '../emulator';
import * as core from '../nodes/core';
import { nodeRedWithEmulator, type Msg, type PredictionMsg } from './support/harness';
import { configNode, helper, loggedBy, nodeModules, received } from './support/node-red';

const OFFICIAL = 'black-forest-labs/flux-schnell';
const LLAMA = 'meta/meta-llama-3-8b-instruct';
const DEPLOY_TYPES = ['full', 'flows', 'nodes'] as const;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(20);
  }
}

describe('waits across redeploys', () => {
  const nr = nodeRedWithEmulator();
  const creds = { cfg: { token: DEFAULT_TOKEN }, other: { token: DEFAULT_TOKEN } };
  const creates = () => nr.emulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/predictions'));
  /** The prediction polled first: the one the node created. */
  const polledId = () =>
    nr.emulator.requests
      .find((r) => r.method === 'GET' && r.path.startsWith('/v1/predictions/'))
      ?.path.split('/')
      .at(-1);

  /** The node under test `n`, its outputs wired to helper nodes out0/out1, and a Catch node. */
  function flows(node: Record<string, unknown>, config: Record<string, unknown> = {}) {
    return [
      { id: 'tab', type: 'tab' },
      configNode('cfg', nr.emulator.url, config),
      configNode('other', nr.emulator.url),
      ...[
        { id: 'n', replicate: 'cfg', ...node, wires: [['out0'], ['out1']] },
        { id: 'out0', type: 'helper' },
        { id: 'out1', type: 'helper' },
        { id: 'catch', type: 'catch', scope: ['n'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ].map((n) => ({ z: 'tab', x: 100, y: 100, ...n })),
    ];
  }

  const create = (props: Record<string, unknown> = {}) => ({
    type: 'replicate-create-prediction',
    model: OFFICIAL,
    input: '{"prompt":"a cat"}',
    wait: 'complete',
    pollInterval: 0.1,
    maxPolls: 300,
    ...props,
  });

  const original = () => ({
    payload: { prompt: 'a dog' },
    topic: 'pets',
    correlationId: 'job-7',
    parts: { id: 'outer', index: 2, count: 5, type: 'array' },
  });

  /** Every message reaching the helper nodes and the Catch node of the flow running now, whichever deploy started them. */
  function watch() {
    const got: Record<string, Msg[]> = { out0: [], out1: [], caught: [] };
    const seen = new WeakSet<Node>();
    const timer = setInterval(() => {
      for (const id of Object.keys(got)) {
        const node = helper.getNode(id);
        if (node && !seen.has(node)) {
          seen.add(node);
          node.on('input', (msg: Msg) => got[id]!.push(msg));
        }
      }
    }, 5);
    return { got, stop: () => clearInterval(timer) };
  }

  for (const type of DEPLOY_TYPES) {
    it(`a create node changed by a "${type}" deploy mid-wait sends the result once through the new node, with the msg it took in`, async () => {
      nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 1200 });
      await helper.load(nodeModules(), flows(create()), creds);
      const watching = watch();
      try {
        const old = helper.getNode('n');
        old.receive(original());
        await until('the create', () => creates().length === 1);
        await pause(150);
        // the wait's settings change too: the successor polls with its own interval
        await helper.setFlows(flows(create({ name: 'changed', pollInterval: 0.2 })), type, creds);
        should(helper.getNode('n')).not.equal(old);
        await until('the result', () => watching.got.out0!.length > 0);
        await pause(500);
        const sent = watching.got.out0 as PredictionMsg[];
        should(sent).have.length(1);
        should(sent[0]).match({ topic: 'pets', correlationId: 'job-7', parts: { id: 'outer', index: 2, count: 5 }, status: 'succeeded' });
        should(sent[0]!.payload.status).equal('succeeded');
        should(watching.got.caught).have.length(0);
        should(loggedBy(old, 'warn')).eql([]);
      } finally {
        watching.stop();
      }
    });
  }

  it('a get node redeployed mid-wait sends the result once, on the output its new settings name', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 1200 });
    const res = await fetch(`${nr.emulator.url}/models/${OFFICIAL}/predictions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt: 'a cat' } }),
    });
    const { id } = (await res.json()) as { id: string };
    const get = (props: Record<string, unknown>) => ({
      type: 'replicate-get-prediction',
      waitForCompletion: true,
      pollInterval: 0.1,
      ...props,
    });
    await helper.load(nodeModules(), flows(get({})), creds);
    const watching = watch();
    try {
      helper.getNode('n').receive({ predictionId: id, topic: 'job', ticket: 42 });
      await pause(300);
      await helper.setFlows(flows(get({ splitOutputs: true })), 'nodes', creds);
      await until('the result', () => watching.got.out0!.length > 0);
      await pause(400);
      should(watching.got.out0).have.length(1);
      should(watching.got.out0![0]).match({ topic: 'job', ticket: 42, predictionId: id, status: 'succeeded' });
    } finally {
      watching.stop();
    }
  });

  it('a redeploy mid-wait keeps the message properties its prediction completed node restores when the webhook comes', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 1000 });
    // nothing listens on port 9 of this machine: the emulator's webhook goes nowhere, the test watches the kept properties
    const withCompleted = (props: Record<string, unknown>) => [
      ...flows(create({ trigger: 'completed', webhookEvents: ['completed'], ...props }), { webhookBaseUrl: 'http://127.0.0.1:9' }),
      {
        id: 'completed',
        type: 'replicate-prediction-completed',
        z: 'tab',
        x: 100,
        y: 100,
        replicate: 'cfg',
        url: '/w',
        correlate: 'topic',
        wires: [[]],
      },
    ];
    const kept = () => Object.keys((helper.getNode('completed').context().global.get('replicateCorrelations') as object | undefined) ?? {});
    await helper.load(nodeModules(), withCompleted({}), creds);
    const watching = watch();
    try {
      helper.getNode('n').receive(original());
      await until('a poll', () => polledId() !== undefined);
      should(kept()).have.length(1);
      await helper.setFlows(withCompleted({ name: 'changed' }), 'nodes', creds);
      await until('the result', () => watching.got.out0!.length > 0);
      should(watching.got.out0![0]).match({ topic: 'pets', correlationId: 'job-7' });
      should(kept()).have.length(1); // still there for the webhook
    } finally {
      watching.stop();
    }
  });

  it('a node now on another account warns with the id, sends nothing and cancels nothing', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 1000 });
    await helper.load(nodeModules(), flows(create()), creds);
    const watching = watch();
    try {
      const old = helper.getNode('n');
      old.receive(original());
      await until('a poll', () => polledId() !== undefined);
      const id = polledId()!;
      await helper.setFlows(flows(create({ replicate: 'other' })), 'nodes', creds);
      should(loggedBy(old, 'warn')).eql([
        `Prediction ${id} keeps running on Replicate: this node now uses another Replicate account than when it started waiting for it, so it will send no message for it. To stop it, send msg.predictionId "${id}" to a cancel prediction node on the old account.`,
      ]);
      await pause(1500);
      should(watching.got.out0).have.length(0);
      should(nr.emulator.requests.filter((r) => r.path.endsWith('/cancel'))).have.length(0);
      should(nr.emulator.prediction(id)!.status).equal('succeeded');
    } finally {
      watching.stop();
    }
  });

  it('a stream cut by a redeploy goes on as a poll: output 1 closes the sequence for a join node, output 2 gets the prediction once', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 50, processingMs: 1500 });
    const streaming = create({ model: LLAMA, input: '{}', wait: 'stream' });
    await helper.load(nodeModules(), flows(streaming), creds);
    const watching = watch();
    try {
      helper.getNode('n').receive({ payload: { prompt: 'tell a story' }, topic: 'story' });
      await until('some text', () => watching.got.out0!.length >= 2);
      await helper.setFlows(flows({ ...streaming, name: 'changed' }), 'full', creds);
      await until('the prediction', () => watching.got.out1!.length > 0);
      await pause(400);
      const texts = watching.got.out0 as Array<Msg & { parts: { index: number; count?: number; id: string } }>;
      const final = watching.got.out1 as PredictionMsg[];
      should(final).have.length(1);
      should(final[0]).match({ topic: 'story', status: 'succeeded' });
      const closing = texts.at(-1)!;
      should(closing).match({ payload: '', complete: true, topic: 'story', parts: { id: final[0]!.payload.id, count: texts.length } });
      texts.forEach((msg, index) => should(msg.parts.index).equal(index));
      should(texts.filter((msg) => msg.complete)).have.length(1);
    } finally {
      watching.stop();
    }
  });

  it('with Keep waits across restarts, a wait is in its node context while it runs and gone once its result is sent', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 50, processingMs: 600 });
    await helper.load(nodeModules(), flows(create(), { keepWaits: true }), creds);
    const node = helper.getNode('n');
    const out = received<PredictionMsg>(helper.getNode('out0'));
    node.receive({ ...original(), attachment: Buffer.from('bytes') });
    await until('a poll', () => polledId() !== undefined);
    const saved = Object.values(
      node.context().get('replicateWaits') as Record<string, Record<string, { predictionId: string; msg: string }>>,
    );
    should(saved).have.length(1);
    const [wait] = Object.values(saved[0]!);
    should(wait!.predictionId).equal(polledId());
    should(JSON.parse(wait!.msg)).match({ topic: 'pets', correlationId: 'job-7', payload: { prompt: 'a dog' } });
    should(core.restoreMessage(wait!.msg).attachment).eql(Buffer.from('bytes'));
    await until('the result', () => out.length === 1);
    await pause(50);
    should(
      Object.values(node.context().get('replicateWaits') as object).every((waits) => Object.keys(waits as object).length === 0),
    ).be.true();
  });

  it('a wait taken over by a node whose account no longer keeps waits is removed from the store, and still sent once', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 50, processingMs: 2500 });
    await helper.load(nodeModules(), flows(create(), { keepWaits: true }), creds);
    const watching = watch();
    try {
      helper.getNode('n').receive(original());
      await until('a poll', () => polledId() !== undefined);
      const saved = () =>
        Object.values((helper.getNode('n').context().get('replicateWaits') as Record<string, object> | undefined) ?? {}).reduce<number>(
          (sum, waits) => sum + Object.keys(waits).length,
          0,
        );
      await until('the wait saved', () => saved() === 1);
      await helper.setFlows(flows(create(), { keepWaits: false }), 'nodes', creds);
      await pause(200);
      should(watching.got.out0).have.length(0); // still running: removed because the account keeps no waits now
      should(saved()).equal(0);
      await until('the result', () => watching.got.out0!.length > 0);
      await pause(300);
      should(watching.got.out0).have.length(1);
      should(watching.got.out0![0]).match({ topic: 'pets', correlationId: 'job-7' });
    } finally {
      watching.stop();
    }
  });
});
