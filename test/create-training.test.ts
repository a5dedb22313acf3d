// The create training node as a flow sees it: images in msg.payload reach the trainer as one zip
// (each file named with its type's extension, or as msg.filenames says), the destination is
// created when missing (or the message fails naming it), the training is sent on with msg.version
// ready for a create node, the trained version runs, and the files uploaded for it are deleted.
import should from 'should';
import { unzipSync } from 'fflate';
import { nodeRedWithEmulator, type CaughtMsg, type Msg, type PredictionMsg } from './support/harness';
import { helper, loggedBy, statusesOf } from './support/node-red';

const TRAINER = 'ostris/flux-dev-lora-trainer';

interface TrainingMsg extends Msg {
  payload: { id: string; status: string; input: Record<string, unknown>; output: { version: string; weights: string } | null };
  trainingId: string;
  status: string;
  version?: string;
  weights?: string;
}

/** A file of `size` bytes that starts as its type does (what the node detects types by). */
function fileOf(kind: 'png' | 'jpeg' | 'webp', size = 600, fill = 1): Buffer {
  const data = Buffer.alloc(size, fill);
  if (kind === 'png') data.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (kind === 'jpeg') data.set([0xff, 0xd8, 0xff, 0xe0]);
  if (kind === 'webp') {
    data.write('RIFF', 0, 'ascii');
    data.write('WEBP', 8, 'ascii');
  }
  return data;
}

/** The bytes of a data: URL. */
function dataUrlBytes(url: unknown): Buffer {
  should(url).be.a.String().and.startWith('data:');
  return Buffer.from(String(url).slice(String(url).indexOf(',') + 1), 'base64');
}

describe('create training node', function () {
  this.timeout(30_000);
  const nr = nodeRedWithEmulator({ timing: { startingMs: 50, processingMs: 300 } });
  let trainerRef: string;
  let destinations = 0;
  /** A destination name no test used before. */
  const fresh = () => `emulator/lora-${++destinations}`;

  before(async () => {
    const res = await fetch(`${nr.emulator.url}/models/${TRAINER}`, {
      headers: { authorization: `Bearer ${nr.emulator.account().token}` },
    });
    trainerRef = `${TRAINER}:${((await res.json()) as { latest_version: { id: string } }).latest_version.id}`;
  });

  const train = (props: Record<string, unknown> = {}, config: Record<string, unknown> = {}) =>
    nr.load({ type: 'replicate-create-training', trainer: trainerRef, destination: fresh(), pollInterval: 0.1, ...props }, { config });
  const requests = (method: string, pattern: RegExp) => nr.emulator.requests.filter((r) => r.method === method && pattern.test(r.path));

  it('zips an array of images, each named with its type, trains into a new private model and sends msg.version', async () => {
    const destination = fresh();
    const flow = await train({ destination, hardware: 'cpu', input: '{"steps": 500, "trigger_word": "TOK"}' });
    const out = flow.next<TrainingMsg>();
    const images = [fileOf('png', 600, 1), fileOf('jpeg', 700, 2), fileOf('webp', 800, 3), fileOf('png', 600, 4)];
    flow.send({ payload: images, topic: 'kept' });
    const msg = await out;

    should(msg.status).equal('succeeded');
    should(msg.topic).equal('kept');
    should(msg.version).match(new RegExp(`^${destination}:[0-9a-f]{64}$`));
    should(msg.weights).equal(msg.payload.output?.weights);
    should(msg.trainingId).equal(msg.payload.id);
    // msg.payload is the training as Replicate has it
    const fetched = (await (
      await fetch(`${nr.emulator.url}/trainings/${msg.trainingId}`, { headers: { authorization: `Bearer ${nr.emulator.account().token}` } })
    ).json()) as Record<string, unknown>;
    should(msg.payload).eql(fetched);

    const zip = unzipSync(dataUrlBytes(msg.payload.input.input_images));
    should(Object.keys(zip)).eql(['image-1.png', 'image-2.jpg', 'image-3.webp', 'image-4.png']);
    images.forEach((image, index) => should(Buffer.from(Object.values(zip)[index]!).equals(image)).be.true());
    should(msg.payload.input).match({ steps: 500, trigger_word: 'TOK' });

    const [created] = requests('POST', /^\/v1\/models$/);
    should(JSON.parse(created!.body)).eql({ owner: 'emulator', name: destination.split('/')[1], visibility: 'private', hardware: 'cpu' });
    should(statusesOf(flow.node).map((s) => s.text)).containEql('creating model');
    should(statusesOf(flow.node).at(-1)).match({ fill: 'green', text: /^succeeded in \d+(\.\d)? s$/ });
  });

  it('names the files in the zip as msg.filenames says, keeping each unique and with an extension', async () => {
    const flow = await train({ wait: 'none' });
    const out = flow.next<TrainingMsg>();
    flow.send({ payload: [fileOf('png'), fileOf('jpeg'), fileOf('png')], filenames: ['../../me.png', 'me.png', 'noext'] });
    const msg = await out;
    should(msg.status).equal('starting');
    should(msg).not.have.property('version');
    should(Object.keys(unzipSync(dataUrlBytes(msg.payload.input.input_images)))).eql(['me.png', 'me-2.png', 'noext.png']);
  });

  it('sends a Buffer (a zip) as it is, and merges an object msg.payload over the fixed inputs', async () => {
    const flow = await train({ wait: 'none', input: '{"steps": 100, "autocaption": true}' });
    const out = flow.next<TrainingMsg>();
    const zip = Buffer.from('PK\u0005\u0006' + '\0'.repeat(18), 'binary');
    flow.send({ payload: { input_images: zip, autocaption: false } });
    const msg = await out;
    should(dataUrlBytes(msg.payload.input.input_images).equals(zip)).be.true();
    should(msg.payload.input).match({ steps: 100, autocaption: false });
  });

  it('fails naming a missing destination when it may not create it, and sends nothing to Replicate', async () => {
    const flow = await train({ destination: 'emulator/not-there', createDestination: false });
    const failed = flow.error();
    flow.send({ payload: [fileOf('png')] });
    const caught: CaughtMsg = await failed;
    should(caught.error.message).equal(
      'The destination model "emulator/not-there" does not exist: create it on Replicate, or turn on "Create it if missing"',
    );
    should(requests('POST', /^\/v1\/(models|files)$|\/trainings$/)).be.empty();
  });

  it('checks the input against the training schema before anything is sent', async () => {
    const flow = await train({ input: '{"steps": 1}' });
    const failed = flow.error();
    flow.send({ payload: [fileOf('png')] });
    const caught = await failed;
    should(caught.error.message).containEql('steps');
    should(requests('POST', /^\/v1\/models$|\/trainings$/)).be.empty();
  });

  it('refuses a trainer whose version has no training inputs', async () => {
    const flux = await fetch(`${nr.emulator.url}/models/black-forest-labs/flux-schnell`, {
      headers: { authorization: `Bearer ${nr.emulator.account().token}` },
    });
    const version = ((await flux.json()) as { latest_version: { id: string } }).latest_version.id;
    const flow = await train({ trainer: `black-forest-labs/flux-schnell:${version}` });
    const failed = flow.error();
    flow.send({ payload: [fileOf('png')] });
    should((await failed).error.message).containEql('cannot be trained');
  });

  it('trains the latest version of a trainer named without one, into a destination that exists', async () => {
    const first = await train({ trainer: TRAINER, destination: 'emulator/existing' });
    let out = first.next<TrainingMsg>();
    first.send({ payload: [fileOf('png')] });
    should((await out).status).equal('succeeded');
    await helper.unload();
    const second = await train({ trainer: TRAINER, destination: 'emulator/existing', createDestination: false });
    out = second.next<TrainingMsg>();
    second.send({ payload: [fileOf('png')] });
    const msg = await out;
    should(msg.status).equal('succeeded');
    should(msg.version).startWith('emulator/existing:');
  });

  it('uploads a large zip with the files API and deletes it once the training has ended', async () => {
    const flow = await train({}, { inlineFileLimit: 1 });
    const out = flow.next<TrainingMsg>();
    flow.send({ payload: [fileOf('png', 3000), fileOf('jpeg', 3000)] });
    const msg = await out;
    should(msg.status).equal('succeeded');
    should(String(msg.payload.input.input_images)).startWith(`${nr.emulator.url}/files/`);
    should(requests('POST', /^\/v1\/files$/)).have.length(1);
    should(requests('DELETE', /^\/v1\/files\//)).have.length(1);
    should(nr.emulator.files.list()).be.empty();
  });

  it('keeps the uploads when told to', async () => {
    const flow = await train({ deleteUploads: false }, { inlineFileLimit: 1 });
    const out = flow.next<TrainingMsg>();
    flow.send({ payload: [fileOf('png', 3000)] });
    should((await out).status).equal('succeeded');
    should(requests('DELETE', /^\/v1\/files\//)).be.empty();
  });

  it('refuses msg.filenames that do not name each file', async () => {
    const flow = await train();
    const failed = flow.error();
    flow.send({ payload: [fileOf('png'), fileOf('png')], filenames: ['one.png'] });
    should((await failed).error.message).equal('msg.filenames must be a list of file names, one for each file in msg.payload');
  });

  it('refuses more files than a training takes, before anything is sent', async () => {
    const flow = await train();
    const failed = flow.error();
    flow.send({ payload: Array.from({ length: 1001 }, () => fileOf('png', 16)) });
    should((await failed).error.message).equal('msg.payload holds 1001 files: a training takes at most 1000 in one zip');
    should(requests('POST', /^\/v1\/(models|files)$|\/trainings$/)).be.empty();
  });

  it('fails as a training still running when its polls run out, with the training in msg.payload', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 10, processingMs: 60_000 });
    const flow = await train({ maxPolls: 2 });
    const failed = flow.error();
    flow.send({ payload: [fileOf('png')] });
    const caught = await failed;
    const payload = caught.payload as TrainingMsg['payload'];
    should(caught.error.message).equal(`Training ${payload.id} is still running after 2 polls (status: processing)`);
    should(caught).match({ trainingId: payload.id, status: 'processing' });
    should(statusesOf(flow.node).at(-1)).match({ fill: 'red', text: 'still running' });
  });

  it('warns on redeploy that the training it waits on keeps running, and sends nothing after', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 10, processingMs: 60_000 });
    const flow = await train();
    let sent = 0;
    flow.outputs[0].on('input', () => sent++);
    flow.send({ payload: [fileOf('png')] });
    await new Promise((r) => setTimeout(r, 400));
    const created = requests('GET', /^\/v1\/trainings\//);
    should(created.length).be.above(0);
    const id = created[0]!.path.split('/').at(-1)!;
    await helper.clearFlows();
    should(loggedBy(flow.node, 'warn')).eql([
      `Training ${id} keeps running on Replicate: this node was closed (redeploy or stop) while waiting for it, so it will send no message for it. To stop it, send msg.trainingId "${id}" to a cancel prediction node.`,
    ]);
    await new Promise((r) => setTimeout(r, 300));
    should(sent).equal(0);
  });

  it('runs the trained version from a create prediction node given msg.version', async () => {
    const flow = await train();
    const out = flow.next<TrainingMsg>();
    flow.send({ payload: [fileOf('png')] });
    const trained = await out;
    await helper.unload();
    const create = await nr.load({
      type: 'replicate-create-prediction',
      model: 'version',
      modelType: 'msg',
      wait: 'complete',
      pollInterval: 0.1,
    });
    const predicted = create.next<PredictionMsg>();
    create.send({ payload: 'TOK on a beach', version: trained.version });
    const prediction = await predicted;
    should(prediction.status).equal('succeeded');
    should(prediction.payload.version).equal(trained.version!.split(':')[1]);
    should(prediction.payload.input).match({ prompt: 'TOK on a beach' });
  });
});
