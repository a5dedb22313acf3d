// Waits that outlive their node, in real Node-RED processes: a create node redeployed mid-wait
// through the admin API (each deploy type), Node-RED killed with -9 mid-wait and started again on
// its localfilesystem context (the prediction still running, or finished while it was down), and a
// webhook delivery Replicate repeats after a restart. Each result arrives once. Two instances sharing
// their context directory each resume their own waits, and restore each other's kept message properties.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import should from 'should';
import { DEFAULT_TOKEN, signWebhook, startEmulator, type Emulator } from '../emulator';
import { startNodeRedProcess, type NodeRedProcess } from './support/node-red-host';

const OFFICIAL = 'black-forest-labs/flux-schnell';
const SECRET = 'whsec_' + Buffer.from('a signing key of thirty-two bytes').toString('base64');
const CLIENT_TIMEOUT_MS = 10_000;
/** localfilesystem writes its cache every flushInterval seconds: what a kill -9 keeps is what was flushed. */
const FLUSH_SECONDS = 0.2;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the flow's debug node printed: one summary per message the node under test sent. */
interface Summary {
  topic?: string;
  correlationId?: string;
  predictionId?: string;
  status?: string;
  resumed?: { restarted: boolean; payloadDropped?: boolean };
  webhookId?: string;
}

function summaries(output: string): Summary[] {
  return [...output.matchAll(/\[debug:done\] (\{.*\})/g)].map((m) => JSON.parse(m[1]!) as Summary);
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(50);
  }
}

const SUMMARY_FUNCTION = `msg.payload = JSON.stringify({
  topic: msg.topic, correlationId: msg.correlationId, predictionId: msg.predictionId, status: msg.status,
  resumed: msg.resumed, webhookId: msg.webhook && msg.webhook.id
});
return msg;`;

function flows(emulator: Emulator, create: Record<string, unknown> = {}) {
  return [
    { id: 'tab', type: 'tab', label: 'waits' },
    { id: 'cfg', type: 'replicate-config', name: 'account', baseUrl: emulator.url, keepWaits: true, waitStore: '' },
    {
      id: 'go',
      type: 'inject',
      z: 'tab',
      x: 100,
      y: 100,
      props: [{ p: 'payload' }, { p: 'topic', vt: 'str' }, { p: 'correlationId', v: 'job-7', vt: 'str' }],
      payload: '{"prompt":"a dog"}',
      payloadType: 'json',
      topic: 'pets',
      wires: [['create']],
    },
    {
      id: 'big',
      type: 'inject',
      z: 'tab',
      x: 100,
      y: 150,
      props: [{ p: 'payload' }, { p: 'topic', vt: 'str' }],
      payload: JSON.stringify({ prompt: 'a dog '.repeat(200_000) }),
      payloadType: 'json',
      topic: 'large',
      wires: [['create']],
    },
    {
      id: 'create',
      type: 'replicate-create-prediction',
      z: 'tab',
      x: 300,
      y: 100,
      replicate: 'cfg',
      model: OFFICIAL,
      input: '{}',
      wait: 'complete',
      pollInterval: 0.2,
      maxPolls: 500,
      ...create,
      wires: [['summary']],
    },
    {
      id: 'completed',
      type: 'replicate-prediction-completed',
      z: 'tab',
      x: 300,
      y: 200,
      replicate: 'cfg',
      url: '/replicate/completed',
      wires: [['summary']],
    },
    { id: 'summary', type: 'function', z: 'tab', x: 500, y: 100, func: SUMMARY_FUNCTION, outputs: 1, wires: [['done']] },
    { id: 'done', type: 'debug', z: 'tab', x: 700, y: 100, name: 'done', active: true, tosidebar: false, console: true, wires: [] },
  ];
}

describe('waits in real Node-RED processes', function () {
  this.timeout(90_000);
  let emulator: Emulator;
  let userDir: string;
  let red: NodeRedProcess | undefined;

  before(async () => {
    emulator = await startEmulator();
  });
  after(() => emulator.close());
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nr-replicate-waits-'));
  });
  afterEach(async () => {
    await red?.stop();
    red = undefined;
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  const start = (flowList = flows(emulator)) =>
    startNodeRedProcess({
      userDir,
      flows: flowList,
      credentials: { cfg: { token: DEFAULT_TOKEN, webhookSecret: SECRET } },
      settings: { contextStorage: { default: { module: 'localfilesystem', config: { flushInterval: FLUSH_SECONDS } } } },
    });

  const inject = async (id = 'go') => {
    const res = await fetch(`${red!.url}/inject/${id}`, { method: 'POST', signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    should(res.status).equal(200);
  };
  const polls = () => emulator.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/predictions/'));
  const createdId = () => polls()[0]?.path.split('/').at(-1);
  const savedWaits = () => {
    const dir = path.join(userDir, 'context');
    if (!fs.existsSync(dir)) return '';
    return fs
      .readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
  };

  for (const type of ['full', 'flows', 'nodes']) {
    it(`a "${type}" deploy through the admin API mid-wait: the result arrives once, with the original msg.topic and correlation property`, async () => {
      emulator.clearRequests();
      emulator.fault({ type: 'timing', startingMs: 100, processingMs: 2500 });
      red = await start();
      await inject();
      await until('a poll', () => createdId() !== undefined);
      const res = await fetch(`${red.url}/flows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': type },
        body: JSON.stringify(flows(emulator, { name: 'changed', pollInterval: 0.3 })),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
      should(res.status).equal(204);
      await pause(FLUSH_SECONDS * 3000);
      should(summaries(red.output())).have.length(0);
      should(savedWaits()).containEql(createdId()); // still saved for a restart
      await until('the result', () => summaries(red!.output()).length > 0);
      await pause(800);
      const sent = summaries(red.output());
      should(sent).have.length(1);
      should(sent[0]).match({ topic: 'pets', correlationId: 'job-7', predictionId: createdId(), status: 'succeeded' });
      should(sent[0]).not.have.property('resumed'); // adopted on redeploy: not a restart
      should(red.output()).not.match(/keeps running/);
      await until('the wait removed', () => !savedWaits().includes(createdId()!));
    });
  }

  it('kill -9 mid-wait, start again: the result arrives once, with msg.resumed', async () => {
    emulator.clearRequests();
    emulator.fault({ type: 'timing', startingMs: 100, processingMs: 4000 });
    red = await start();
    await inject();
    await until('a poll', () => createdId() !== undefined);
    const id = createdId()!;
    await until('the wait saved', () => savedWaits().includes(id));
    await red.kill();
    should(emulator.prediction(id)!.status).not.equal('succeeded');
    red = await start();
    await until('the result', () => summaries(red!.output()).length > 0);
    await pause(800);
    const sent = summaries(red.output());
    should(sent).have.length(1);
    should(sent[0]).match({ topic: 'pets', correlationId: 'job-7', predictionId: id, status: 'succeeded', resumed: { restarted: true } });
    await until('the wait removed', () => !savedWaits().includes(id));
  });

  it('a prediction that finished while Node-RED was down is sent once after the start; a message over 1 MB without its payload', async () => {
    emulator.clearRequests();
    emulator.fault({ type: 'timing', startingMs: 100, processingMs: 1500 });
    red = await start();
    await inject('big');
    await until('a poll', () => createdId() !== undefined);
    const id = createdId()!;
    await until('the wait saved', () => savedWaits().includes(id));
    await red.kill();
    await until('the prediction finished', () => emulator.prediction(id)!.status === 'succeeded');
    const pollsBefore = polls().length;
    red = await start();
    await until('the result', () => summaries(red!.output()).length > 0);
    await pause(800);
    const sent = summaries(red.output());
    should(sent).have.length(1);
    should(sent[0]).match({ predictionId: id, status: 'succeeded', topic: 'large', resumed: { restarted: true, payloadDropped: true } });
    should(polls().length - pollsBefore).equal(1); // one look: it was finished
  });

  it('a webhook delivery Replicate repeats after a restart is answered but not emitted twice', async () => {
    red = await start();
    const id = 'repeatedafterrestart0001';
    const text = JSON.stringify({ id, status: 'succeeded', output: ['https://replicate.delivery/x.png'] });
    const webhookId = `msg_${Math.random().toString(36).slice(2)}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const deliver = () =>
      fetch(`${red!.url}/replicate/completed`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(SECRET, webhookId, timestamp, text),
        },
        body: text,
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
    should((await deliver()).status).equal(200);
    await until('the delivery', () => summaries(red!.output()).length === 1);
    await until('the delivery saved', () => savedWaits().includes('replicateDeliveries'));
    await red.kill();
    red = await start();
    should((await deliver()).status).equal(200);
    await pause(800);
    should(summaries(red.output())).have.length(0);
  });

  it('two instances sharing a localfilesystem directory (cache off) each resume only the waits they saved', async () => {
    emulator.clearRequests();
    emulator.fault({ type: 'timing', startingMs: 100, processingMs: 3000, times: 2 });
    const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'nr-replicate-shared-'));
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nr-replicate-waits-b-'));
    const sharedStore = { contextStorage: { default: { module: 'localfilesystem', config: { dir: shared, cache: false } } } };
    const startOn = (dir: string) =>
      startNodeRedProcess({
        userDir: dir,
        flows: flows(emulator),
        credentials: { cfg: { token: DEFAULT_TOKEN, webhookSecret: SECRET } },
        settings: sharedStore,
      });
    const polledIds = () => [...new Set(polls().map((r) => r.path.split('/').at(-1)!))];
    const storedText = () =>
      fs
        .readdirSync(shared, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.json'))
        .map((f) => fs.readFileSync(path.join(shared, f), 'utf8'))
        .join('\n');
    let other: NodeRedProcess | undefined;
    try {
      [red, other] = await Promise.all([startOn(userDir), startOn(otherDir)]);
      await inject();
      await until('a poll by the first', () => polledIds().length === 1);
      const [first] = polledIds();
      await until('its wait saved', () => storedText().includes(first!));
      const res = await fetch(`${other.url}/inject/go`, { method: 'POST', signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
      should(res.status).equal(200);
      await until('a poll by the second', () => polledIds().length === 2);
      const second = polledIds()[1]!;
      await until('both waits saved', () => storedText().includes(first!) && storedText().includes(second));
      await Promise.all([red.kill(), other.kill()]);

      other = await startOn(otherDir);
      await until('the second result', () => summaries(other!.output()).length > 0);
      await pause(1000);
      should(summaries(other.output()).map((m) => m.predictionId)).eql([second]);
      red = await startOn(userDir);
      await until('the first result', () => summaries(red!.output()).length > 0);
      await pause(1000);
      should(summaries(red.output()).map((m) => m.predictionId)).eql([first]);
      should(summaries(other.output())).have.length(1);
    } finally {
      await other?.stop();
      fs.rmSync(otherDir, { recursive: true, force: true });
      fs.rmSync(shared, { recursive: true, force: true });
    }
  });

  it('two instances sharing a localfilesystem directory (cache off) behind one URL: the delivery reaching the other one restores the message', async () => {
    emulator.clearRequests();
    emulator.fault({ type: 'timing', startingMs: 100, processingMs: 500 });
    const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'nr-replicate-shared-'));
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nr-replicate-waits-b-'));
    // The same flow on both: an order goes into the create node, whose webhook is the prediction completed node.
    const orderFlows = (publicUrl: string) => [
      { id: 'tab', type: 'tab', label: 'orders' },
      {
        id: 'cfg',
        type: 'replicate-config',
        name: 'account',
        baseUrl: emulator.url,
        webhookBaseUrl: publicUrl,
        keepWaits: true,
        waitStore: '',
      },
      {
        id: 'go',
        type: 'inject',
        z: 'tab',
        x: 100,
        y: 100,
        props: [{ p: 'payload' }, { p: 'topic', vt: 'str' }, { p: 'orderId', v: 'order-42', vt: 'str' }],
        payload: '{"prompt":"a dog"}',
        payloadType: 'json',
        topic: 'pets',
        wires: [['create']],
      },
      {
        id: 'create',
        type: 'replicate-create-prediction',
        z: 'tab',
        x: 300,
        y: 100,
        replicate: 'cfg',
        model: OFFICIAL,
        input: '{}',
        wait: 'none',
        trigger: 'completed',
        webhookEvents: ['completed'],
        wires: [[]],
      },
      {
        id: 'completed',
        type: 'replicate-prediction-completed',
        z: 'tab',
        x: 300,
        y: 200,
        replicate: 'cfg',
        url: '/replicate/completed',
        correlate: 'topic, orderId',
        store: '',
        expiry: 1,
        wires: [['summary']],
      },
      {
        id: 'summary',
        type: 'function',
        z: 'tab',
        x: 500,
        y: 200,
        func: 'msg.payload = JSON.stringify({ topic: msg.topic, orderId: msg.orderId, predictionId: msg.predictionId, status: msg.status }); return msg;',
        outputs: 1,
        wires: [['done']],
      },
      { id: 'done', type: 'debug', z: 'tab', x: 700, y: 200, name: 'done', active: true, tosidebar: false, console: true, wires: [] },
    ];
    const startOn = (dir: string, publicUrl: string) =>
      startNodeRedProcess({
        userDir: dir,
        flows: orderFlows(publicUrl),
        credentials: { cfg: { token: DEFAULT_TOKEN, webhookSecret: emulator.account().webhookSecret } },
        settings: { contextStorage: { default: { module: 'localfilesystem', config: { dir: shared, cache: false } } } },
      });
    const orders = (output: string) => summaries(output) as (Summary & { orderId?: string })[];
    let other: NodeRedProcess | undefined;
    try {
      other = await startOn(otherDir, '');
      // The first instance's Public URL is the shared one, and Replicate's delivery reaches the other instance.
      red = await startOn(userDir, other.url);
      await inject();
      await until('the delivery', () => orders(other!.output()).length > 0);
      await pause(800);
      // one delivery, to the other instance's prediction completed node
      const [delivery, ...more] = emulator.webhooks.deliveries.filter((d) => d.url.startsWith(`${other!.url}/replicate/completed?`));
      should(more).have.length(0);
      should(delivery).match({ event: 'completed', status: 200 });
      const sent = orders(other.output());
      should(sent).have.length(1);
      should(sent[0]).match({ topic: 'pets', orderId: 'order-42', predictionId: delivery!.predictionId, status: 'succeeded' });
      should(orders(red.output())).have.length(0);
    } finally {
      await other?.stop();
      fs.rmSync(otherDir, { recursive: true, force: true });
      fs.rmSync(shared, { recursive: true, force: true });
    }
  });
});
