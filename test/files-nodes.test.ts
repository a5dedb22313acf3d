// Files through the nodes, as a flow sees them: a Buffer in msg.payload reaches Replicate as the
// same bytes (inline or uploaded, once per message), uploads are deleted after a complete wait,
// and output files come out as URLs, as Buffers beside the prediction, or one message per file,
// from the create, get and prediction completed nodes, never from a host that is not allowed.
import type { EventEmitter } from 'events';
import should from 'should';
import { DEFAULT_TOKEN, startRecorder } from '../emulator';
import { signedHeaders } from './emulator-support/wire';
import { nodeRedWithEmulator, type CaughtMsg, type Msg, type PredictionMsg } from './support/harness';
import { createToCompletedFlow, helper, httpNode, message, messages, nodeModules, statusesOf } from './support/node-red';

const ESRGAN = 'nightmareai/real-esrgan:f121d640bd286e1fdc67f9799164c1d5be36ff74576ee11c803ae5b665dd46aa';
const OFFICIAL = 'black-forest-labs/flux-schnell';
const SECRET = 'whsec_' + Buffer.from('a signing key of thirty-two bytes').toString('base64');

interface FileMsg extends Msg {
  payload: Buffer;
  filename: string;
  contentType: string;
  prediction: PredictionMsg['payload'];
  predictionId: string;
  status: string;
  parts: { id: string; index: number; count: number; type: string };
}

interface FilesMsg extends PredictionMsg {
  files: Array<{ url: string; filename: string; contentType: string; size: number; data: Buffer }>;
}

/** A PNG of `size` bytes: its signature, then filler. */
function png(size: number): Buffer {
  const data = Buffer.alloc(size, 7);
  data.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return data;
}

describe('files through the nodes', function () {
  this.timeout(30_000);
  const nr = nodeRedWithEmulator();
  const uploads = () => nr.emulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/files');
  const creates = () => nr.emulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/predictions'));
  const create = (props: Record<string, unknown> = {}, config: Record<string, unknown> = {}) =>
    nr.load({ type: 'replicate-create-prediction', model: ESRGAN, input: '{}', ...props }, { config: { maxRetries: 3, ...config } });

  describe('inputs', () => {
    it('sends a small Buffer inline: the bytes that reach Replicate are the bytes sent', async () => {
      const flow = await create();
      const out = flow.next();
      const image = png(1000);
      flow.send({ payload: { image, scale: 2 } });
      const msg = await out;
      const [received] = nr.emulator.fileInputs(msg.predictionId);
      should(received).match({ field: 'image', via: 'data-url', contentType: 'image/png' });
      should(received!.bytes.equals(image)).be.true();
      should(uploads()).have.length(0);
    });

    it('uploads a Buffer above "Send files inline up to", once, showing its progress, and sends its URL', async () => {
      const flow = await create({}, { inlineFileLimit: 256 });
      const out = flow.next();
      const image = png(3 * 1024 * 1024);
      flow.send({ payload: { image } });
      const msg = await out;
      const [received] = nr.emulator.fileInputs(msg.predictionId);
      should(received).match({ field: 'image', via: 'upload', contentType: 'image/png' });
      should(received!.bytes.equals(image)).be.true();
      should(msg.payload.input).eql({ image: `${nr.emulator.url}/files/${received!.fileId}` });
      should(uploads()).have.length(1);
      should(statusesOf(flow.node).map((s) => s.text)).containEql('upload 100%');
    });

    it('uploads once per message, however often the create is retried, and not again when it fails', async () => {
      const flow = await create({}, { inlineFileLimit: 1 });
      nr.emulator.fault({ match: { method: 'POST', path: '/predictions' }, type: 'rate-limit', retryAfterSeconds: 0, times: 2 });
      let out = flow.next();
      flow.send({ payload: { image: png(5000) } });
      await out;
      should(creates()).have.length(3);
      should(uploads()).have.length(1);

      nr.emulator.clearRequests();
      nr.emulator.fault({ match: { method: 'POST', path: '/predictions' }, type: 'status', status: 500, process: true });
      const caught = flow.error();
      flow.send({ payload: { image: png(5000) } });
      should((await caught).error.message).containEql('may have been created anyway');
      should(creates()).have.length(1);
      should(uploads()).have.length(1);
      should(nr.emulator.requests.filter((r) => r.method === 'DELETE')).have.length(0); // the prediction may exist and read it

      nr.emulator.clearRequests();
      nr.emulator.fault({ match: { method: 'POST', path: '/predictions' }, type: 'status', status: 422, body: { detail: 'bad input' } });
      const refused = flow.error();
      flow.send({ payload: { image: png(5000) } });
      should((await refused).error.message).containEql('bad input');
      should(nr.emulator.requests.map((r) => r.method)).eql(['POST', 'POST', 'DELETE']); // uploaded, refused, deleted
      out = flow.next();
      flow.send({ payload: { image: png(5000) } });
      await out;
      should(uploads()).have.length(2); // each message its own upload
    });

    it('refuses a file over 100 MiB, naming its field, before anything is sent', async () => {
      const flow = await create(); // the input check would look up the schema first: not for a file that cannot go
      const caught = flow.error();
      flow.send({ payload: { image: Buffer.alloc(100 * 1024 * 1024 + 1) } });
      should((await caught).error.message).equal('input image is 101 MiB: Replicate takes files of at most 100 MiB, so nothing was sent');
      should(nr.emulator.requests).have.length(0);
    });

    it('accepts a Buffer for a file input and still rejects one for a number', async () => {
      const flow = await create();
      const caught = flow.error();
      flow.send({ payload: { image: png(100), scale: Buffer.from('4') } });
      should((await caught).error.message).containEql('input "scale" must be a number (got <1 bytes>)');
      should((await caught).error.message).not.containEql('"image"');
      should(creates()).have.length(0);
    });

    it('deletes the uploaded files once a complete wait has seen the prediction finish, unless told not to', async () => {
      let flow = await create({ wait: 'complete', pollInterval: 0.1 }, { inlineFileLimit: 1 });
      let out = flow.next();
      flow.send({ payload: { image: png(5000) } });
      let msg = await out;
      should(msg.status).equal('succeeded');
      const deletes = nr.emulator.requests.filter((r) => r.method === 'DELETE');
      should(deletes).have.length(1);
      should(deletes[0]!.path).match(/^\/v1\/files\/[a-z0-9]+$/);
      should(nr.emulator.files.get(deletes[0]!.path.split('/').pop()!)).be.undefined();

      await helper.unload();
      nr.emulator.clearRequests();
      flow = await create({ wait: 'complete', pollInterval: 0.1, deleteUploads: false }, { inlineFileLimit: 1 });
      out = flow.next();
      flow.send({ payload: { image: png(5000) } });
      msg = await out;
      should(nr.emulator.requests.filter((r) => r.method === 'DELETE')).have.length(0);
      should(nr.emulator.fileInputs(msg.predictionId)[0]!.via).equal('upload'); // still there
    });
  });

  describe('no uploaded file left behind', () => {
    // Every path a message can take after its files were read from it: the emulator keeps no file.
    const left = () => nr.emulator.files.list().map((file) => file.id);
    beforeEach(() => nr.emulator.reset());

    it('checks msg.webhook before uploading: an ftp:// webhook fails the message with nothing uploaded', async () => {
      const flow = await create({}, { inlineFileLimit: 1 });
      const caught = flow.error();
      flow.send({ payload: { image: png(5000) }, webhook: 'ftp://example.com/hook' });
      should((await caught).error.message).containEql('msg.webhook');
      should(uploads()).have.length(0);
      should(left()).eql([]);
    });

    it('checks Cancel-After before uploading: a bad msg.cancelAfter fails the message with nothing uploaded', async () => {
      const flow = await create({ cancelAfter: 'cancelAfter', cancelAfterType: 'msg' }, { inlineFileLimit: 1 });
      const caught = flow.error();
      flow.send({ payload: { image: png(5000) }, cancelAfter: 'soon' });
      should((await caught).error.message).containEql('msg.cancelAfter');
      should(uploads()).have.length(0);
      should(left()).eql([]);
    });

    it('asks the linked prediction completed node for its URL before uploading: no Public URL, nothing uploaded', async () => {
      await helper.load(
        nodeModules(),
        [
          // no Public URL
          ...createToCompletedFlow(nr.emulator.url, {
            config: { inlineFileLimit: 1, z: 'tab' },
            create: { model: ESRGAN },
            completed: { url: '/replicate/no-public-url' },
          }),
          { id: 'catch', z: 'tab', x: 0, y: 0, type: 'catch', scope: ['create'], uncaught: false, wires: [['caught']] },
          { id: 'caught', z: 'tab', x: 0, y: 0, type: 'helper' },
        ],
        { cfg: { token: DEFAULT_TOKEN } },
      );
      const caught = message<CaughtMsg>(helper.getNode('caught'));
      helper.getNode('create').receive({ payload: { image: png(5000) } });
      should((await caught).error.message).containEql('no public URL');
      should(uploads()).have.length(0);
      should(left()).eql([]);
    });

    it('deletes the uploads of a prediction it canceled when the polls ran out', async () => {
      nr.emulator.fault({ type: 'timing', startingMs: 0, processingMs: 60_000 });
      const flow = await create({ wait: 'complete', pollInterval: 0.1, maxPolls: 2, cancelOnTimeout: true }, { inlineFileLimit: 1 });
      const caught = flow.error();
      flow.send({ payload: { image: png(5000) } });
      const { error } = await caught;
      should(error.message).endWith('it has been cancelled');
      should(uploads()).have.length(1);
      should(left()).eql([]);
    });

    it('deletes the uploads of a prediction that ended canceled, and after a sync wait that saw it end', async () => {
      nr.emulator.fault({ type: 'outcome', status: 'canceled' });
      let flow = await create({ wait: 'complete', pollInterval: 0.1 }, { inlineFileLimit: 1 });
      let out = flow.next();
      flow.send({ payload: { image: png(5000) } });
      should((await out).status).equal('canceled');
      should(left()).eql([]);

      await helper.unload();
      flow = await create({ wait: 'sync', waitSeconds: 30 }, { inlineFileLimit: 1 });
      out = flow.next();
      flow.send({ payload: { image: png(5000) } });
      should((await out).status).equal('succeeded');
      should(uploads()).have.length(2);
      should(left()).eql([]);
    });

    it('leaves no copy of an upload whose answer was lost (a 502 after the file was stored)', async () => {
      nr.emulator.fault({ match: { method: 'POST', path: '/files' }, type: 'status', status: 502, process: true });
      const flow = await create({ wait: 'complete', pollInterval: 0.1 }, { inlineFileLimit: 1 });
      const out = flow.next();
      flow.send({ payload: { image: png(5000) } });
      const msg = await out;
      should(msg.status).equal('succeeded');
      should(uploads()).have.length(2); // stored twice, answered once
      should(nr.emulator.requests.filter((r) => r.method === 'DELETE')).have.length(2); // the copy at once, the file read when it finished
      should(left()).eql([]);
    });

    it('deletes the uploads of a create Replicate refused', async () => {
      nr.emulator.fault({ match: { method: 'POST', path: '/predictions' }, type: 'status', status: 422, body: { detail: 'bad input' } });
      const flow = await create({ validateInput: false }, { inlineFileLimit: 1 });
      const caught = flow.error();
      flow.send({ payload: { image: png(5000), mask: png(6000) } });
      should((await caught).error.message).containEql('bad input');
      should(uploads()).have.length(2);
      should(left()).eql([]);
    });
  });

  describe('outputs', () => {
    const twoFiles = () => [`${nr.emulator.origin}/outputs/image/out-0.png`, `${nr.emulator.origin}/outputs/audio/voice.wav`];

    it('leaves output files as URLs by default, as flows saved before this option had it', async () => {
      const flow = await create({ model: OFFICIAL, wait: 'complete', pollInterval: 0.1 });
      const out = flow.next();
      flow.send({ payload: { prompt: 'a cat' } });
      const msg = await out;
      should(msg.payload).eql(nr.emulator.prediction(msg.predictionId));
      should(msg).not.have.property('files');
      should(nr.emulator.requests.filter((r) => r.path.startsWith('/outputs/'))).have.length(0);
    });

    it('buffer: downloads every output file before sending, beside the untouched prediction', async () => {
      nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: { image: twoFiles()[0], audio: [twoFiles()[1]] } });
      const flow = await create({ model: OFFICIAL, wait: 'complete', pollInterval: 0.1, outputFiles: 'buffer' });
      const out = flow.next<FilesMsg>();
      flow.send({ payload: { prompt: 'a cat' }, topic: 'job' });
      const msg = await out;
      should(msg.payload).eql(nr.emulator.prediction(msg.predictionId));
      should(msg.topic).equal('job');
      should(msg.files.map(({ url, filename, contentType, size }) => ({ url, filename, contentType, size }))).eql([
        { url: twoFiles()[0], filename: 'out-0.png', contentType: 'image/png', size: msg.files[0]!.data.length },
        { url: twoFiles()[1], filename: 'voice.wav', contentType: 'audio/wav', size: msg.files[1]!.data.length },
      ]);
      should(Buffer.isBuffer(msg.files[0]!.data)).be.true();
    });

    it('buffer: a sync create decodes data: outputs, as Replicate sent them for a while', async () => {
      const pixel = png(100);
      nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: [`data:image/png;base64,${pixel.toString('base64')}`] });
      const flow = await create({ model: OFFICIAL, wait: 'sync', outputFiles: 'buffer' });
      const out = flow.next<FilesMsg>();
      flow.send({ payload: { prompt: 'a cat' } });
      const msg = await out;
      should((msg.payload.output as string[])[0]).startWith('data:image/png;base64,');
      should(msg.files).have.length(1);
      should(msg.files[0]).match({ filename: 'output-0.png', contentType: 'image/png' });
      should(msg.files[0]!.data.equals(pixel)).be.true();
      should(nr.emulator.requests.filter((r) => r.path.startsWith('/outputs/'))).have.length(0);
    });

    it('message: one message per file for a file out node, with parts for a join, every other property kept', async () => {
      nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: twoFiles() });
      const flow = await create({ model: OFFICIAL, wait: 'complete', pollInterval: 0.1, outputFiles: 'message' });
      const out = messages<FileMsg>(flow.outputs[0], 2);
      flow.send({ payload: { prompt: 'a cat' }, topic: 'job', correlationId: 7 });
      const [first, second] = await out;
      for (const [index, msg] of [first!, second!].entries()) {
        should(Buffer.isBuffer(msg.payload)).be.true();
        should(msg).match({ topic: 'job', correlationId: 7, predictionId: msg.prediction.id, status: 'succeeded' });
        should(msg.parts).eql({ id: msg.prediction.id, index, count: 2, type: 'array' });
        should(msg.prediction).eql(nr.emulator.prediction(msg.prediction.id));
      }
      should([first!.filename, second!.filename]).eql(['out-0.png', 'voice.wav']);
      should([first!.contentType, second!.contentType]).eql(['image/png', 'audio/wav']);
    });

    it('message: a failed prediction goes out once, as in url mode', async () => {
      nr.emulator.fault({ type: 'outcome', status: 'failed', error: 'out of memory' });
      const flow = await create({ model: OFFICIAL, wait: 'complete', pollInterval: 0.1, outputFiles: 'message' });
      const out = flow.next();
      flow.send({ payload: { prompt: 'a cat' } });
      const msg = await out;
      should(msg.status).equal('failed');
      should(msg.payload).eql(nr.emulator.prediction(msg.predictionId));
    });

    it('refuses an output file on a host that is not allowed, naming it, and sends that host nothing', async () => {
      const recorder = await startRecorder();
      try {
        const elsewhere = recorder.origin.replace('127.0.0.1', 'localhost');
        nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: [`${elsewhere}/internal/secrets.png`] });
        const flow = await create({ model: OFFICIAL, wait: 'complete', pollInterval: 0.1, outputFiles: 'buffer' });
        const caught = flow.error();
        flow.send({ payload: { prompt: 'a cat' } });
        should((await caught).error.message).startWith('The output names a file on localhost, which is not an allowed file host');
        should(recorder.requests).have.length(0);
        should(statusesOf(flow.node).at(-1)).match({ fill: 'red' });
      } finally {
        await recorder.close();
      }
    });

    it('downloads from a host listed in "Also download from", without the token, showing progress', async () => {
      const recorder = await startRecorder();
      try {
        const listed = recorder.origin.replace('127.0.0.1', 'localhost');
        const big = `${nr.emulator.origin}/outputs/generated/3000000/big.bin`;
        nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: [`${listed}/page.json`, big] });
        const flow = await create(
          { model: OFFICIAL, wait: 'complete', pollInterval: 0.1, outputFiles: 'buffer' },
          { downloadHosts: 'localhost, cdn.example.com' },
        );
        const out = flow.next<FilesMsg>();
        flow.send({ payload: { prompt: 'a cat' } });
        const msg = await out;
        should(msg.files.map((f) => f.size)).eql([msg.files[0]!.data.length, 3_000_000]);
        should(recorder.requests).have.length(1);
        const fileRequests = [...recorder.requests, ...nr.emulator.requests.filter((r) => r.path.startsWith('/outputs/'))];
        for (const request of fileRequests) should(JSON.stringify(request.headers)).not.containEql(DEFAULT_TOKEN);
        should(statusesOf(flow.node).map((s) => s.text)).containEql('download 100%');
      } finally {
        await recorder.close();
      }
    });

    it('stops a download above "Largest download", naming the file', async () => {
      nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: `${nr.emulator.origin}/outputs/generated/3000000/large.mp4` });
      const flow = await create({ model: OFFICIAL, wait: 'complete', pollInterval: 0.1, outputFiles: 'buffer' }, { maxDownload: 2 });
      const caught = flow.error();
      flow.send({ payload: { prompt: 'a cat' } });
      should((await caught).error.message).equal(
        'The output file large.mp4 is larger than the largest download (2 MB) set in the Replicate account, so its download was stopped',
      );
    });

    it('message: a URL the output lists 30 times is downloaded once, each of the 30 messages carrying its bytes', async () => {
      const url = `${nr.emulator.origin}/outputs/image/same.png`;
      nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: Array.from({ length: 30 }, () => url) });
      const flow = await create({ model: OFFICIAL, wait: 'complete', pollInterval: 0.1, outputFiles: 'message' });
      const out = messages<FileMsg>(flow.outputs[0], 30);
      flow.send({ payload: { prompt: 'a cat' } });
      const got = await out;
      should(nr.emulator.requests.filter((r) => r.path === '/outputs/image/same.png')).have.length(1);
      should(got.every((msg) => msg.payload.equals(got[0]!.payload) && msg.filename === 'same.png')).be.true();
      should(got.map((msg) => msg.parts.index)).eql([...Array(30).keys()]);
    });

    for (const mode of ['buffer', 'message']) {
      it(`${mode}: more than 100 output files fail the message clearly, downloading none`, async () => {
        const urls = Array.from({ length: 101 }, (_, i) => `${nr.emulator.origin}/outputs/image/out-${i}.png`);
        nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: urls });
        const flow = await create({ model: OFFICIAL, wait: 'complete', pollInterval: 0.1, outputFiles: mode });
        const caught = flow.error();
        flow.send({ payload: { prompt: 'a cat' } });
        should((await caught).error.message).startWith('The output names 101 files, more than the 100 downloaded for one prediction');
        should(nr.emulator.requests.filter((r) => r.path.startsWith('/outputs/'))).have.length(0);
      });
    }

    describe('get prediction', () => {
      async function finished(output: unknown): Promise<string> {
        nr.emulator.fault({ type: 'outcome', status: 'succeeded', output });
        const res = await fetch(`${nr.emulator.url}/models/${OFFICIAL}/predictions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json', prefer: 'wait=1' },
          body: JSON.stringify({ input: { prompt: 'a cat' } }),
        });
        return ((await res.json()) as { id: string }).id;
      }
      const get = (props: Record<string, unknown>, outputs = 1) =>
        nr.load({ type: 'replicate-get-prediction', waitForCompletion: true, pollInterval: 0.1, ...props }, { outputs });

      it('buffer: msg.files beside the prediction', async () => {
        const id = await finished(twoFiles());
        const flow = await get({ outputFiles: 'buffer' });
        const out = flow.next<FilesMsg>();
        flow.send({ predictionId: id });
        const msg = await out;
        should(msg.payload).eql(nr.emulator.prediction(id));
        should(msg.files.map((f) => f.filename)).eql(['out-0.png', 'voice.wav']);
      });

      it('message: one message per file, on the succeeded output when outputs are split', async () => {
        const id = await finished(twoFiles());
        const flow = await get({ outputFiles: 'message', splitOutputs: true }, 3);
        const out = messages<FileMsg>(flow.outputs[0], 2);
        flow.send({ predictionId: id, topic: 't' });
        const got = await out;
        should(got.map((m) => [m.filename, m.parts.index, m.topic])).eql([
          ['out-0.png', 0, 't'],
          ['voice.wav', 1, 't'],
        ]);
      });

      it('url: the prediction as it is', async () => {
        const id = await finished(twoFiles());
        const flow = await get({ outputFiles: 'url' });
        const out = flow.next();
        flow.send({ predictionId: id });
        const msg = await out;
        should(msg.payload.output).eql(twoFiles());
        should(msg).not.have.property('files');
      });
    });

    describe('prediction completed', () => {
      const PATH = '/replicate/files-done';
      let counter = 0;
      async function deliver(output: unknown) {
        const body = JSON.stringify({
          id: `p${++counter}abcdefghijk`,
          status: 'succeeded',
          input: {},
          output,
          created_at: '2026-11-30T10:00:00Z',
        });
        const res = await httpNode().post(PATH).set(signedHeaders(body, SECRET)).send(body);
        should(res.status).equal(200);
      }
      const completed = (outputFiles?: string) =>
        nr.load({ type: 'replicate-prediction-completed', url: PATH, ...(outputFiles ? { outputFiles } : {}) }, { webhookSecret: SECRET });

      it('buffer: downloads the files of a delivered prediction', async () => {
        const flow = await completed('buffer');
        const out = flow.next<FilesMsg>();
        await deliver(twoFiles());
        const msg = await out;
        should(msg.payload.output).eql(twoFiles());
        should(msg.files.map((f) => f.contentType)).eql(['image/png', 'audio/wav']);
      });

      it('message: one message per file', async () => {
        const flow = await completed('message');
        const out = messages<FileMsg>(flow.outputs[0], 2);
        await deliver(twoFiles());
        const got = await out;
        should(got.map((m) => [m.filename, m.parts.count, m.status])).eql([
          ['out-0.png', 2, 'succeeded'],
          ['voice.wav', 2, 'succeeded'],
        ]);
      });

      it('url (and flows saved without the option): the prediction as delivered', async () => {
        const flow = await completed();
        const out = flow.next();
        await deliver(twoFiles());
        const msg = await out;
        should(msg.payload.output).eql(twoFiles());
        should(msg).not.have.property('files');
      });

      it('reports an output on a host that is not allowed, sending nothing', async () => {
        const flow = await completed('buffer');
        const errors: unknown[] = [];
        (flow.node as unknown as EventEmitter).on('call:error', (call: { args: unknown[] }) => errors.push(call.args[0]));
        await deliver(['https://evil.example.com/a.png']);
        await new Promise((resolve) => setTimeout(resolve, 200));
        should(String((errors[0] as Error | undefined)?.message)).startWith('The output names a file on evil.example.com');
      });
    });
  });
});
