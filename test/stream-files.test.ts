// Create prediction's stream mode for a model whose output is files: each file on output 1 as
// it arrives (by Output files: its URL, or the file downloaded), with msg.parts for a join, then
// the finished prediction on output 2. And the official JS client's replicate.stream() reading
// the emulator's streams as it reads Replicate's: without a token.
import should from 'should';
import { DEFAULT_TOKEN } from '../emulator';
import { nodeRedWithEmulator, type Loaded, type Msg, type PredictionMsg } from './support/harness';
import { helper, loadStreamIntoJoin, message, received } from './support/node-red';

const FLUX = 'black-forest-labs/flux-schnell';
const LLAMA = 'meta/meta-llama-3-8b-instruct';

interface FileMsg extends Msg {
  parts: { id: string; index?: number; type: string; count?: number };
  predictionId: string;
  complete?: boolean;
}

describe('replicate-create-prediction, stream mode, a model whose output is files', () => {
  const nr = nodeRedWithEmulator({ timing: { startingMs: 20, processingMs: 300 } });
  /** Three files of the emulator's, as a model of three outputs names them. */
  const threeFiles = () => ['a.png', 'b.png', 'c.png'].map((name) => `${nr.emulator.origin}/outputs/image/${name}`);

  const streaming = (props: Record<string, unknown> = {}) =>
    nr.load({ type: 'replicate-create-prediction', model: FLUX, wait: 'stream', pollInterval: 0.1, ...props }, { outputs: 2 });

  /** Output 1's messages up to the closing one, and output 2's finished prediction. */
  async function run(flow: Loaded, msg: Msg) {
    const files = received<FileMsg>(flow.outputs[0]);
    const final = flow.next<PredictionMsg>(1);
    flow.send(msg);
    return { files, final: await final };
  }

  function assertSequence(files: FileMsg[], final: PredictionMsg) {
    const id = final.payload.id;
    const closing = files.at(-1)!;
    should(closing).match({ complete: true, predictionId: id, parts: { id, type: 'array', count: files.length - 1 } });
    should(closing).not.have.property('payload');
    should(closing.parts).not.have.property('index'); // a join node would add an empty element
    files.slice(0, -1).forEach((msg, index) => {
      should(msg).match({ predictionId: id, topic: 'cats', parts: { id, index, type: 'array' } });
      should(msg).not.have.property('complete');
    });
  }

  it('url: one message per file URL as it arrives, then the finished prediction', async () => {
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: threeFiles() });
    const flow = await streaming();
    const { files, final } = await run(flow, { payload: 'a cat', topic: 'cats' });
    should(final).match({ status: 'succeeded', topic: 'cats' });
    should(files.slice(0, -1).map((msg) => msg.payload)).eql(final.payload.output);
    assertSequence(files, final);
    should(nr.emulator.requests.filter((r) => r.path.startsWith('/v1/files/'))).have.length(1); // the stream, read once
    should(nr.emulator.requests.filter((r) => r.path.startsWith('/outputs/'))).have.length(0); // nothing downloaded
  });

  it('message: each file downloaded as it arrives, one message each, ready for a file out node', async () => {
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: threeFiles() });
    const flow = await streaming({ outputFiles: 'message' });
    const { files, final } = await run(flow, { payload: 'a cat', topic: 'cats' });
    assertSequence(files, final);
    const png = Buffer.from(await (await fetch(threeFiles()[0]!)).arrayBuffer());
    files.slice(0, -1).forEach((msg, index) => {
      should(msg).match({ filename: ['a.png', 'b.png', 'c.png'][index], contentType: 'image/png', url: threeFiles()[index] });
      should(Buffer.isBuffer(msg.payload)).be.true();
      should((msg.payload as Buffer).equals(png)).be.true();
    });
  });

  it('message: a file that cannot be downloaded fails the message; the files before it went out, then the closing part', async () => {
    const [first, , third] = threeFiles();
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: [first, 'https://evil.example.com/b.png', third] });
    const flow = await streaming({ outputFiles: 'message' });
    const files = received<FileMsg>(flow.outputs[0]);
    const caught = flow.error();
    flow.send({ payload: 'a cat', topic: 'cats' });
    should((await caught).error.message).startWith('The output names a file on evil.example.com');
    should(files.map((msg) => msg.url ?? 'closing')).eql([first, 'closing']);
    should(files.at(-1)).match({ complete: true });
  });

  it('has a join node in automatic mode put the files back together as a list', async () => {
    await loadStreamIntoJoin(nr.emulator.url, { model: FLUX });
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: threeFiles() });
    const whole = message(helper.getNode('whole'));
    helper.getNode('n').receive({ payload: 'a cat' });
    should((await whole).payload).eql(threeFiles());
  });
});

describe("the official JS client's replicate.stream() against the emulator", () => {
  const nr = nodeRedWithEmulator({ timing: { startingMs: 20, processingMs: 300 } });

  interface ServerSentEvent {
    event: string;
    data: unknown;
    toString(): string;
  }
  interface FileOutput {
    blob(): Promise<Blob>;
    url(): URL;
  }
  type ReplicateClient = { stream(ref: string, options: { input: Record<string, unknown> }): AsyncGenerator<ServerSentEvent> };
  const official = () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the devDependency, as a user loads it
    const Replicate = require('replicate') as new (options: { auth: string; baseUrl: string }) => ReplicateClient;
    return new Replicate({ auth: DEFAULT_TOKEN, baseUrl: nr.emulator.url });
  };

  it("reads a language model's text, without a token and so without a 401", async () => {
    const tokens = ['Why', ' the', ' sky', ' is', ' blue.'];
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: tokens });
    let text = '';
    for await (const event of official().stream(LLAMA, { input: { prompt: 'why is the sky blue?' } })) text += String(event);
    should(text).equal(tokens.join(''));
    const stream = nr.emulator.requests.find((r) => r.path.startsWith('/v1/streams/'))!;
    should(stream.headers).not.have.property('authorization');
  });

  it("reads an image model's files as FileOutput, each file's bytes", async () => {
    const events: ServerSentEvent[] = [];
    for await (const event of official().stream(FLUX, { input: { prompt: 'a cat' } })) events.push(event);
    const outputs = events.filter((event) => event.event === 'output').map((event) => event.data as FileOutput);
    should(outputs).have.length(1);
    const blob = await outputs[0]!.blob();
    should(blob.size).be.above(0);
    should(outputs[0]!.url().pathname).match(/^\/outputs\/[a-z0-9]+\/out-0\.png$/);
    should(events.at(-1)!.event).equal('done');
  });
});
