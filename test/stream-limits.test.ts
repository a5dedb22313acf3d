// Create prediction's stream mode against streams that misbehave: a hostile server on 127.0.0.1
// stands in for the stream host, the emulator for the API. Each limit holds: one event at most
// 1 MiB, the text at most the account's largest download, resumes counted per prediction, streams
// read only from the hosts allowed; the message fails with one clear sentence, the connection is
// closed, the heap stays small, and with "cancel when polls run out" the prediction is canceled.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import should from 'should';
import { DEFAULT_TOKEN, startRecorder } from '../emulator';
import type { WirePrediction } from './emulator-support/wire';
import { nodeRedWithEmulator, type Msg, type PredictionMsg } from './support/harness';
import { helper, statusesOf } from './support/node-red';

const LLAMA = 'meta/meta-llama-3-8b-instruct';
const AUTH = { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' };
const MB = 1_000_000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const watching = new Set<NodeJS.Timeout>();

/**
 * The heap's growth over a baseline, sampled after a collection every 500 ms (one takes ~0.3 s on
 * a busy machine): what is kept, not garbage. The test helper's spies on send and on the log keep
 * every message sent (with a call stack): that is the harness's memory, not the node's, and is
 * forgotten before each sample.
 */
function watchHeap() {
  const collect = () => {
    // spies only while a flow is loaded
    const send = helper._NodePrototype.send;
    if (typeof send?.resetHistory === 'function') send.resetHistory();
    const log = helper.log();
    if (typeof log.resetHistory === 'function') log.resetHistory();
    gc();
  };
  collect();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  const sample = () => {
    collect();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  };
  const timer = setInterval(sample, 500);
  watching.add(timer);
  return {
    stop(): number {
      clearInterval(timer);
      watching.delete(timer);
      sample();
      return peak - baseline;
    },
  };
}

/** A stream host that misbehaves as each test says; counts its connections and sees them close. */
async function hostileServer() {
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const closed: Array<Promise<void>> = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    connections++;
    closed.push(new Promise((resolve) => res.on('close', resolve)));
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    get connections() {
      return connections;
    },
    /** Resolves once every connection so far has closed. */
    allClosed: () => Promise.all(closed),
    set handle(h: typeof handle) {
      handle = h;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => undefined),
    reset() {
      connections = 0;
      closed.length = 0;
      server.closeAllConnections();
    },
    server,
  };
}

/** Writes what `next` gives for as long as the client reads, minding backpressure. */
function pump(res: ServerResponse, next: () => string): void {
  const write = () => {
    while (!res.destroyed) if (!res.write(next())) return void res.once('drain', write);
  };
  res.on('close', () => res.removeAllListeners('drain'));
  write();
}

const eventStream = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });

describe('replicate-create-prediction, stream mode: streams that misbehave', () => {
  const nr = nodeRedWithEmulator({ timing: { startingMs: 20, processingMs: 300 } });
  let hostile: Awaited<ReturnType<typeof hostileServer>>;
  before(async () => (hostile = await hostileServer()));
  afterEach(() => {
    for (const timer of watching) clearInterval(timer);
    watching.clear();
    hostile.reset();
  });
  after(() => hostile.close());

  const streaming = (props: Record<string, unknown> = {}, config: Record<string, unknown> = {}) =>
    nr.load(
      { type: 'replicate-create-prediction', model: LLAMA, input: '{}', wait: 'stream', pollInterval: 0.1, ...props },
      { outputs: 2, config },
    );

  /** A real prediction on the emulator, whose create answer (the node's next create) names `streamUrl` as its stream. */
  async function predictionStreamingAt(streamUrl: string, processingMs = 20_000): Promise<WirePrediction> {
    nr.emulator.fault({ type: 'timing', startingMs: 0, processingMs });
    const res = await fetch(`${nr.emulator.url}/models/${LLAMA}/predictions`, { method: 'POST', headers: AUTH, body: '{"input":{}}' });
    const created = (await res.json()) as WirePrediction;
    const answer = { ...created, urls: { ...created.urls, stream: streamUrl } };
    nr.emulator.fault({ type: 'status', status: 201, body: answer, match: { method: 'POST' } });
    return created;
  }

  it('closes a stream whose event never ends at 1 MiB: the message fails, the prediction is canceled, the heap stays small', async () => {
    hostile.handle = (_req, res) => {
      eventStream(res);
      res.write('event: output\ndata: ');
      const line = 'x'.repeat(64 * 1024);
      pump(res, () => line); // one data line, never ended
    };
    const created = await predictionStreamingAt(`${hostile.origin}/v1/streams/endless`);
    const flow = await streaming({ cancelOnTimeout: true });
    const closing = flow.next<Msg>(0);
    const caught = flow.error();
    const heap = watchHeap();
    flow.send({ payload: { prompt: 'hi' } });
    const { error } = await caught;
    const growth = heap.stop();
    should(error.message).equal("The model's stream sent an event larger than 1 MiB, so the stream was closed");
    should(await closing).match({ payload: '', complete: true, parts: { count: 1 } }); // a join node is not left waiting
    await hostile.allClosed();
    should(hostile.connections).equal(1);
    should(nr.emulator.prediction(created.id)).match({ status: 'canceled' });
    should(growth).be.below(50 * MB);
    should(statusesOf(flow.node).at(-1)!.fill).equal('red');
  });

  it('fails a stream of endless valid events at the largest download: the connection closed, the heap small', async function () {
    this.timeout(60_000); // 60 MB through the node, a few seconds on a busy machine
    hostile.handle = (_req, res) => {
      eventStream(res);
      let n = 0;
      const data = 'y'.repeat(512 * 1024);
      pump(res, () => `id: e${n++}\nevent: output\ndata: ${data}\n\n`);
    };
    await predictionStreamingAt(`${hostile.origin}/v1/streams/endless-events`);
    const flow = await streaming({}, { maxDownload: 60 });
    let chunks = 0;
    flow.outputs[0].on('input', () => chunks++); // counted, not kept: the heap is what is measured
    const caught = flow.error();
    const heap = watchHeap();
    flow.send({ payload: { prompt: 'hi' } });
    const { error } = await caught;
    const growth = heap.stop();
    should(error.message).equal(
      "The model's stream sent more text than the largest download (60 MB) set in the Replicate account, so the stream was closed",
    );
    await hostile.allClosed();
    should(hostile.connections).equal(1); // an error of the message, not a dropped connection to resume
    should(chunks).be.within(113, 116); // 60 MB in 512 KiB events, then the closing part
    should(growth).be.below(50 * MB);
  });

  it('resumes a stream at most 3 times per prediction, events or not, then polls to the end', async () => {
    hostile.handle = (_req, res) => {
      eventStream(res);
      res.write(`id: h${hostile.connections}\nevent: output\ndata: x\n\n`, () => res.destroy()); // an event, then a drop, every time
    };
    const created = await predictionStreamingAt(`${hostile.origin}/v1/streams/flaky`, 2500);
    const flow = await streaming();
    const final = flow.next<PredictionMsg>(1, 15_000);
    flow.send({ payload: { prompt: 'hi' } });
    should(await final).match({ status: 'succeeded', predictionId: created.id });
    should(hostile.connections).equal(1 + 3);
    should(statusesOf(flow.node).map((s) => s.text)).containEql('stream lost: polling');
  });

  it('reads a stream only from an allowed host: any other fails the message before a request goes there, naming it', async () => {
    const recorder = await startRecorder();
    try {
      const cases = [
        [
          `http://localhost:${recorder.port}/admin/reboot?confirm=1`,
          "The prediction's stream is on localhost, which is not Replicate's host",
        ],
        ['https://evil.example.com/v1/streams/x', "The prediction's stream is on evil.example.com, which is not Replicate's host"],
        ['ftp://127.0.0.1/v1/streams/x', "The prediction's stream is on 127.0.0.1 without https, so it was not read"],
      ];
      for (const [url, sentence] of cases) {
        await predictionStreamingAt(url!, 200);
        const flow = await streaming();
        const caught = flow.error();
        flow.send({ payload: { prompt: 'hi' } });
        should((await caught).error.message).startWith(sentence!);
        await helper.unload();
      }
      should(recorder.requests).have.length(0);

      // a host the account lists in "Also download from" is read, without the token
      await predictionStreamingAt(`http://localhost:${recorder.port}/v1/streams/listed`, 200);
      const flow = await streaming({}, { downloadHosts: 'localhost' });
      const final = flow.next<PredictionMsg>(1);
      flow.send({ payload: { prompt: 'hi' } });
      should(await final).match({ status: 'succeeded' }); // not a stream there: the polls bring the text
      should(recorder.requests).have.length(1);
      should(recorder.requests[0]!.headers).not.have.property('authorization');
    } finally {
      await recorder.close();
    }
  });
});
