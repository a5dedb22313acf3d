// Every example flow, loaded as a user would import it and run against the emulator. Debug
// nodes become helper nodes so the test can read what the user would see in the sidebar. So do
// FlowFuse Dashboard widgets (the dashboard needs a browser at the other end of its websocket):
// a text box sends what a user types, a template receives what the page shows; the dashboard's
// config nodes are left out. test/browser/dashboard.browser.ts runs that example with the real
// dashboard in Chromium.
import fs from 'fs';
import os from 'os';
import path from 'path';
import should from 'should';
import { unzipSync } from 'fflate';
import { DEFAULT_TOKEN, startEmulator, type Emulator } from '../emulator';
import { detectContentType } from '../nodes/core';
import type { NodeAPI } from 'node-red';
import { sentCreate } from './emulator-support/wire';
import type { CaughtMsg, Msg, PredictionMsg } from './support/harness';
import { configNode, helper, message, nodeModules, received, resolveNodeRed, serveHttpNode } from './support/node-red';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const CONFIG_ID = 'replicate-account';
const CORE_NODES = [
  'common/20-inject.js',
  'common/90-comment.js',
  'function/15-change.js',
  'function/10-switch.js',
  'function/10-function.js',
  'function/89-delay.js',
  'storage/10-file.js',
  'sequence/17-split.js',
].map(
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED's own core nodes, from the Node-RED under test
  (file) => require(resolveNodeRed(`@node-red/nodes/core/${file}`)) as (RED: NodeAPI) => void,
);

type FlowNode = Record<string, unknown> & { id: string; type: string; name?: string };

function readExample(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as FlowNode[];
}

describe('example flows', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator();
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    emulator.clearFaults();
    emulator.clearRequests();
  });
  after(async () => {
    await helper.stopServer();
    await emulator.close();
  });

  /** Replicate refuses the next POST (the create) as it refuses a wrong token. */
  const rejectTheToken = () =>
    emulator.fault({
      match: { method: 'POST' },
      type: 'status',
      status: 401,
      body: { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 },
    });

  const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));

  it('are all importable: valid JSON, explained, pointing at the shared config node id, no secrets', () => {
    should(files.length).be.aboveOrEqual(4);
    for (const file of files) {
      const flow = readExample(file);
      should(flow.some((n) => n.type === 'comment' && n.info)).be.true();
      for (const node of flow.filter((n) => n.type.startsWith('replicate-'))) should(node.replicate).equal(CONFIG_ID);
      should(flow.some((n) => n.type === 'replicate-config')).be.false();
      should(JSON.stringify(flow)).not.match(/r8_|whsec_|credentials/);
    }
  });

  /** Loads an example with debug nodes as helpers; `patch` shortens its timings for the test. */
  async function run(file: string, patch: (flow: FlowNode[]) => void = () => undefined, config: Record<string, unknown> = {}) {
    const flow = readExample(file);
    patch(flow);
    const tab = flow[0]!.z as string;
    const nodes = flow
      .filter((n) => !n.type.startsWith('ui-') || n.z)
      .map((n) =>
        n.type === 'debug' || n.type.startsWith('ui-')
          ? { id: n.id, z: n.z, x: n.x, y: n.y, type: 'helper', name: n.name, wires: n.type === 'debug' ? [] : n.wires }
          : n,
      );
    await helper.load(
      [...CORE_NODES, ...nodeModules()],
      [{ id: tab, type: 'tab' }, configNode(CONFIG_ID, emulator.url, config), ...nodes],
      {
        [CONFIG_ID]: { token: DEFAULT_TOKEN },
      },
    );
    const byName = (name: string) => {
      const node = flow.find((n) => n.name === name);
      if (!node) throw new Error(`no node named "${name}" in ${file}`);
      return helper.getNode(node.id);
    };
    return {
      flow,
      byName,
      /** The next message at the debug node of that name (T: what the test expects there). */
      seen: <T extends Msg = PredictionMsg>(name: string, timeoutMs = 15_000) => message<T>(byName(name), timeoutMs),
      click: (name: string) => byName(name).receive({}),
      /** What a dashboard text box sends when a user types this and presses Enter. */
      type: (name: string, text: string) => byName(name).send({ payload: text }),
    };
  }

  describe('01 Predict and poll', () => {
    const file = '01 Predict and poll.json';

    it('creates by version, polls, and shows the output of a success', async () => {
      const ex = await run(file);
      const out = ex.seen('succeeded: output');
      ex.click('a prompt');
      const msg = await out;
      should(msg.payload).not.be.null();
      should(msg.status).equal('succeeded');
      const create = emulator.requests.find((r) => r.method === 'POST')!;
      should(create.path).equal('/v1/predictions');
      should(sentCreate(create).version).match(/^[0-9a-f]{64}$/);
    });

    it("shows Replicate's error for a failure, and a cancellation on its own output", async () => {
      emulator.fault({ type: 'outcome', status: 'failed', error: 'NSFW content detected' });
      let ex = await run(file);
      const failed = ex.seen<Msg>('failed: error');
      ex.click('a prompt');
      should((await failed).payload).equal('NSFW content detected');
      await helper.unload();

      emulator.fault({ type: 'outcome', status: 'canceled' });
      ex = await run(file);
      const canceled = ex.seen('canceled or aborted');
      ex.click('a prompt');
      should((await canceled).status).equal('canceled');
    });

    it('sends errors such as a rejected token to the Catch node', async () => {
      rejectTheToken();
      const ex = await run(file);
      const caught = ex.seen<CaughtMsg>('error (token, billing, input, timeout)');
      ex.click('a prompt');
      should((await caught).error.message).match(/^Replicate rejected the token \(401\)/);
    });
  });

  describe('02 Run an official model', () => {
    const file = '02 Run an official model.json';

    it('runs the official model by name in sync mode', async () => {
      const ex = await run(file);
      const out = ex.seen('image URLs');
      ex.click('a prompt');
      should((await out).payload).not.be.null();
      const create = emulator.requests.find((r) => r.method === 'POST')!;
      should(create.path).equal('/v1/models/black-forest-labs/flux-schnell/predictions');
      should(create.headers.prefer).equal('wait=60');
    });

    it('waits with the get node when the sync wait ends first', async () => {
      emulator.fault({ type: 'timing', startingMs: 200, processingMs: 1800 });
      const ex = await run(file, (flow) => {
        flow.find((n) => n.type === 'replicate-create-prediction')!.waitSeconds = 1;
        flow.find((n) => n.type === 'replicate-get-prediction')!.pollInterval = 0.2;
      });
      const out = ex.seen('image URLs');
      ex.click('a prompt');
      should((await out).status).equal('succeeded');
      should(emulator.requests.filter((r) => r.method === 'GET').length).be.above(0);
    });
  });

  describe('03 Cancel guard', () => {
    const file = '03 Cancel guard.json';
    const shortGuard = (seconds: string) => (flow: FlowNode[]) => {
      flow.find((n) => n.type === 'delay')!.timeout = seconds;
      flow.find((n) => n.type === 'replicate-get-prediction')!.pollInterval = 0.1;
    };

    it('cancels a prediction still running when the guard fires', async () => {
      emulator.fault({ type: 'timing', startingMs: 100, processingMs: 60_000 });
      const ex = await run(file, shortGuard('0.5'));
      const stopped = ex.seen('stopped by the guard');
      const result = ex.seen('result (succeeded, failed or canceled)');
      ex.click('a prompt');
      const cancelMsg = await stopped;
      should(emulator.prediction(cancelMsg.predictionId)!.status).equal('canceled');
      should((await result).status).equal('canceled');
    });

    it('lets a prediction that finished in time through, without an error', async () => {
      const ex = await run(file, shortGuard('1.5'));
      const result = ex.seen('result (succeeded, failed or canceled)');
      const inTime = ex.seen('finished before the guard');
      ex.click('a prompt');
      should((await result).status).equal('succeeded');
      should((await inTime).status).equal('succeeded');
    });
  });

  describe('04 Model browser', () => {
    const file = '04 Model browser.json';

    it('pages through the catalog, searches it and counts it', async () => {
      const ex = await run(file);
      let page = ex.seen<Msg>('models on this page');
      ex.click('first page');
      const first = (await page).payload as string[];
      should(first).have.length(25);
      for (const ref of first) should(ref).match(/^[\w.-]+\/[\w.-]+:[0-9a-f]{64}$/);

      page = ex.seen<Msg>('models on this page');
      ex.click('next page');
      const second = (await page).payload as string[];
      should(second).have.length(25);
      should(second).not.containDeep([first[0]]);

      page = ex.seen<Msg>('models on this page');
      ex.click('search');
      should(((await page).payload as string[]).length).be.above(0);
      should(emulator.requests.at(-1)).match({ method: 'QUERY', body: 'upscale' });

      const count = ex.seen<Msg>('models in the catalog', 60_000);
      ex.click('count all');
      should((await count).payload).be.above(3800);
    });
  });

  describe('05 Continue on completion (webhook)', () => {
    const file = '05 Continue on completion (webhook).json';

    it('starts the prediction, receives the signed webhook and continues with the order restored', async () => {
      const server = await serveHttpNode();
      try {
        const ex = await run(file, undefined, { webhookBaseUrl: server.url });
        const started = ex.seen('started');
        const finished = ex.seen('finished (topic restored)');
        ex.click('order 1001: a prompt');
        const start = await started;
        const done = await finished;
        should(done).match({ topic: 'order-1001', predictionId: start.predictionId, status: 'succeeded' });
        should(done.payload.output).not.be.null();
        const delivery = emulator.webhooks.deliveries.find((d) => d.predictionId === start.predictionId)!;
        should(delivery).match({ event: 'completed', status: 200 });
        should(emulator.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/predictions'))).have.length(0); // nothing polled
      } finally {
        await server.close();
      }
    });
  });

  describe('07 Stream a chat answer', () => {
    const file = '07 Stream a chat answer.json';

    it('sends the answer chunk by chunk, the join puts it together, and the finished prediction carries msg.text', async () => {
      const ex = await run(file);
      const chunks = received<Msg>(ex.byName('chunks so far'));
      const whole = ex.seen<Msg>('the whole answer');
      const finished = ex.seen('finished prediction: msg.text');
      ex.click('a question');
      const answer = (await whole).payload as string;
      const done = await finished;
      should(done.status).equal('succeeded');
      should(answer).equal((done.payload.output as string[]).join(''));
      should(done.text).equal(answer);
      should(chunks.length).equal((done.payload.output as string[]).length + 1); // each token, then the closing part
      // counted on the debug node's status, not one sidebar message per chunk (the sidebar keeps 100)
      const counter = readExample(file).find((n) => n.name === 'chunks so far')!;
      should(counter).match({ tosidebar: false, console: false, tostatus: true, statusType: 'counter' });
      should(sentCreate(emulator.requests.find((r) => r.method === 'POST')!).input).eql({
        max_tokens: 512,
        prompt: 'Why is the sky blue? Answer in two sentences.',
      });
    });
  });

  /** The example's file nodes reading and writing in a fresh folder, as they do in .node-red/ under npm start. */
  function inFolder(dir: string) {
    return (flow: FlowNode[]) => {
      for (const node of flow.filter((n) => n.type === 'file' || n.type === 'file in')) {
        node.filename =
          node.filenameType === 'jsonata'
            ? `"${dir.replace(/\\/g, '/')}/" & ${String(node.filename)}`
            : path.join(dir, String(node.filename));
      }
    };
  }

  describe('06 Upscale an image', () => {
    const file = '06 Upscale an image.json';

    it('saves a photo, reads it into a Buffer, upscales it and saves the result with file out', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicate-example-06-'));
      try {
        const ex = await run(file, inFolder(dir));
        const saved = ex.seen<Msg>('photo saved');
        ex.click('1. save a sample photo');
        await saved;
        const photo = fs.readFileSync(path.join(dir, 'replicate-sample-photo.png'));
        should(detectContentType(photo)).equal('image/png');

        const done = ex.seen<Msg>('upscaled image saved');
        ex.click('2. upscale it');
        await done;
        const create = emulator.requests.find((r) => r.method === 'POST')!;
        should(sentCreate(create).input).match({ scale: 2, image: /^data:image\/png;base64,/ });
        const predictionId = emulator.requests
          .find((r) => r.method === 'GET' && r.path.startsWith('/v1/predictions/'))!
          .path.split('/')
          .pop()!;
        should(emulator.fileInputs(predictionId)[0]!.bytes.equals(photo)).be.true(); // the bytes read are the bytes that arrived
        const upscaled = fs.readFileSync(path.join(dir, 'replicate-upscaled.png'));
        should(detectContentType(upscaled)).equal('image/png');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('08 Save every output file', () => {
    const file = '08 Save every output file.json';

    it('writes each output file under its own name, and joins the set', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicate-example-08-'));
      try {
        const ex = await run(file, inFolder(dir));
        const saved = ex.seen<Msg>('file saved');
        const joined = ex.seen<Msg>('every file of the prediction');
        ex.click('a prompt');
        const msg = await saved;
        should(msg.filename).endWith(path.join('replicate-outputs', 'out-0.png')); // file out names the file it wrote
        should(detectContentType(fs.readFileSync(path.join(dir, 'replicate-outputs', 'out-0.png')))).equal('image/png');
        const all = (await joined).payload as Buffer[];
        should(all).have.length(1);
        should(Buffer.isBuffer(all[0])).be.true();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('09 Dashboard with a streamed answer and an image', () => {
    const file = '09 Dashboard with a streamed answer and an image.json';

    /** The answers the page shows, each time it changes, until the last part of the answer has arrived. */
    function answersShown(ex: Awaited<ReturnType<typeof run>>, timeoutMs = 15_000): Promise<Msg[]> {
      const shown: Msg[] = [];
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the answer did not finish within ${timeoutMs} ms`)), timeoutMs);
        ex.byName('answer').on('input', (msg: Msg) => {
          shown.push(msg);
          if (msg.complete) {
            clearTimeout(timer);
            resolve(shown);
          }
        });
      });
    }

    it('shows the answer growing as the model writes it, combined into a few updates, and a new question starts afresh', async () => {
      emulator.fault({ type: 'timing', startingMs: 50, processingMs: 1500 });
      const ex = await run(file);
      let answers = answersShown(ex);
      ex.type('question', 'Why is the sky blue?');
      const shown = await answers;
      const tokens = emulator.prediction(shown[0]!.predictionId as string)!.output as string[];
      const texts = shown.map((msg) => msg.payload as string);
      should(texts.at(-1)).equal(tokens.join(''));
      texts.slice(1).forEach((text, i) => should(text.startsWith(texts[i]!)).be.true()); // each shows more of the same answer
      should(new Set(texts).size).be.aboveOrEqual(3); // it grew while the model was writing
      should(shown.length).be.below(tokens.length / 4); // combined: not one update per token
      should(sentCreate(emulator.requests.find((r) => r.method === 'POST')!).input).eql({
        max_tokens: 512,
        prompt: 'Why is the sky blue?',
      });

      answers = answersShown(ex);
      ex.type('question', 'And at sunset?');
      const second = await answers;
      should(second[0]!.predictionId).not.equal(shown[0]!.predictionId);
      should(second.at(-1)!.payload).equal((emulator.prediction(second[0]!.predictionId as string)!.output as string[]).join(''));
    });

    it('shows the generated image: the prediction with the URL of a PNG the browser can load', async () => {
      const ex = await run(file);
      const image = ex.seen('image');
      ex.type('image prompt', 'a lighthouse at dawn');
      const msg = await image;
      should(msg.status).equal('succeeded');
      const url = (msg.payload.output as string[])[0]!;
      should(url.startsWith(`${emulator.origin}/outputs/`)).be.true();
      const res = await fetch(url); // no token: the page loads it as it is
      should(res.status).equal(200);
      should(detectContentType(Buffer.from(await res.arrayBuffer()))).equal('image/png');
      should(sentCreate(emulator.requests.find((r) => r.method === 'POST')!).input).eql({ num_outputs: 1, prompt: 'a lighthouse at dawn' });
    });

    it('shows an error such as a rejected token in the answer box', async () => {
      rejectTheToken();
      const ex = await run(file);
      const shown = ex.seen<Msg>('answer');
      ex.type('image prompt', 'a lighthouse at dawn');
      should((await shown).payload).match(/^Replicate rejected the token \(401\)/);
    });
  });

  describe('10 Fine-tune on your photos, then generate', () => {
    const file = '10 Fine-tune on your photos, then generate.json';
    const photos = path.join(EXAMPLES, 'sample-photos');

    it('reads the sample photos, trains on them as one zip, and generates with the new version', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicate-example-10-'));
      process.env.REPLICATE_SAMPLE_PHOTOS = photos; // as npm start sets it
      try {
        const ex = await run(file, (flow) => {
          flow.find((n) => n.type === 'replicate-create-training')!.pollInterval = 0.1;
          flow.find((n) => n.type === 'replicate-create-prediction')!.pollInterval = 0.1;
          const write = flow.find((n) => n.type === 'file')!;
          write.filename = `"${dir.replace(/\\/g, '/')}/" & ${String(write.filename)}`;
        });
        const trained = ex.seen<Msg>('trained: msg.version');
        const saved = ex.seen<Msg>('image saved');
        ex.click('1. fine-tune on the sample photos');
        const training = await trained;
        should(training.status).equal('succeeded');
        should(training.version).match(/^emulator\/my-lora:[0-9a-f]{64}$/);
        const input = (training.payload as { input: { input_images: string; trigger_word: string } }).input;
        should(input.trigger_word).equal('TOK');
        const zip = unzipSync(Buffer.from(input.input_images.slice(input.input_images.indexOf(',') + 1), 'base64'));
        should(Object.keys(zip)).eql(['photo-1.jpg', 'photo-2.png', 'photo-3.webp']);
        for (const name of Object.keys(zip)) should(Buffer.from(zip[name]!).equals(fs.readFileSync(path.join(photos, name)))).be.true();

        const image = await saved;
        const create = emulator.requests.find((r) => r.method === 'POST' && r.path === '/v1/predictions')!;
        should(sentCreate(create)).match({ version: String(training.version).split(':')[1], input: { prompt: /TOK/ } });
        should(detectContentType(fs.readFileSync(String(image.filename)))).equal('image/png');
        should(path.dirname(String(image.filename))).equal(dir);
      } finally {
        delete process.env.REPLICATE_SAMPLE_PHOTOS;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
