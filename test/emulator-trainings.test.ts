import should from 'should';
import Replicate, { parseProgressFromLogs, validateWebhook } from 'replicate';
import { DEFAULT_TOKEN, startEmulator, startRecorder, type Emulator, type Recorder } from '../emulator';
import { Client, eventually } from './emulator-support/http-client';
import type { Problem, WireModel, WirePrediction, WireVersion } from './emulator-support/wire';

const OTHER_TOKEN = 'r8_other_account_token';
const TRAINER = 'ostris/flux-dev-lora-trainer';
const ZIP = 'data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==';

interface WireTraining extends Omit<WirePrediction, 'output'> {
  output?: { version: string; weights: string };
}

describe('Replicate emulator: trainings, models.create and hardware', function () {
  let emulator: Emulator;
  let client: Client;
  let other: Client;
  let replicate: Replicate;
  let receiver: Recorder;
  let trainerVersion: string;

  before(async function () {
    this.timeout(30_000);
    emulator = await startEmulator({
      timing: { startingMs: 50, processingMs: 300 },
      webhookRetryDelaysMs: [50],
      accounts: [
        { token: DEFAULT_TOKEN, username: 'emulator' },
        { token: OTHER_TOKEN, username: 'someone-else' },
      ],
    });
    client = new Client(emulator.url, DEFAULT_TOKEN);
    other = new Client(emulator.url, OTHER_TOKEN);
    replicate = new Replicate({ auth: DEFAULT_TOKEN, baseUrl: emulator.url });
    receiver = await startRecorder();
    trainerVersion = (await client.call<WireModel>('GET', `/models/${TRAINER}`)).json.latest_version.id;
  });

  after(async () => {
    await emulator.close();
    await Promise.all([client.close(), other.close(), receiver.close()]);
  });

  afterEach(() => emulator.clearFaults());

  const train = (destination: string, input: Record<string, unknown> = { input_images: ZIP }, extra: Record<string, unknown> = {}) =>
    client.call<WireTraining>('POST', `/models/${TRAINER}/versions/${trainerVersion}/trainings`, {
      body: { destination, input, ...extra },
    });

  it('lists the hardware models run on, for the official client', async () => {
    const hardware = await replicate.hardware.list();
    should(hardware.length).be.above(2);
    should(hardware.map((h) => h.sku))
      .containEql('cpu')
      .and.containEql('gpu-t4');
    for (const item of hardware) should(item).have.properties('name', 'sku');
  });

  it('creates a private model that only its owner sees, once per name', async () => {
    const created = await replicate.models.create('emulator', 'private-one', {
      visibility: 'private',
      hardware: 'cpu',
      description: 'mine',
    });
    should(created).match({ owner: 'emulator', name: 'private-one', visibility: 'private', latest_version: null, description: 'mine' });
    should((await client.call<WireModel>('GET', '/models/emulator/private-one')).json.name).equal('private-one');
    should((await other.call('GET', '/models/emulator/private-one')).status).equal(404);
    const again = await client.call<Problem>('POST', '/models', {
      body: { owner: 'emulator', name: 'private-one', visibility: 'private', hardware: 'cpu' },
    });
    should(again.status).equal(409);
  });

  it('refuses a model for another owner, an unknown hardware SKU, a bad name and a missing field', async () => {
    const base = { owner: 'emulator', name: 'fine-name', visibility: 'private', hardware: 'cpu' };
    should((await client.call('POST', '/models', { body: { ...base, owner: 'someone-else' } })).status).equal(403);
    const sku = await client.call<Problem>('POST', '/models', { body: { ...base, hardware: 'gpu-imaginary' } });
    should(sku.status).equal(422);
    should(sku.json.detail).containEql('gpu-imaginary');
    should((await client.call('POST', '/models', { body: { ...base, name: 'Not A Name' } })).status).equal(422);
    const noVisibility = { owner: 'emulator', name: 'fine-name', hardware: 'cpu' };
    should((await client.call('POST', '/models', { body: noVisibility })).status).equal(422);
    should((await client.call('GET', '/models/emulator/fine-name')).status).equal(404);
  });

  it('trains into the destination: starting, progress in the logs, then {version, weights}; the version runs', async function () {
    this.timeout(10_000);
    await replicate.models.create('emulator', 'lora-a', { visibility: 'private', hardware: 'gpu-t4' });
    const created = await replicate.trainings.create('ostris', 'flux-dev-lora-trainer', trainerVersion, {
      destination: 'emulator/lora-a',
      input: { input_images: ZIP, steps: 500 },
    });
    should(created).match({ status: 'starting', model: TRAINER, version: trainerVersion });
    // the description's `output` is an object, never null: an unfinished training has none
    should(created).not.have.property('output');
    should(created.urls.get).equal(`${emulator.url}/trainings/${created.id}`);
    should(created.urls.cancel).equal(`${emulator.url}/trainings/${created.id}/cancel`);
    should((await client.call('GET', '/models/emulator/lora-a')).json).have.property('latest_version', null);

    const seenProgress: number[] = [];
    const done = await eventually(async () => {
      const training = await replicate.trainings.get(created.id);
      const progress = parseProgressFromLogs(training.logs ?? '');
      if (progress) seenProgress.push(progress.percentage);
      return training.status === 'succeeded' && training;
    }, 5000);
    should(seenProgress.length).be.above(0);
    should(parseProgressFromLogs(done.logs ?? '')).eql({ percentage: 1, current: 500, total: 500 });
    const output = done.output as { version: string; weights: string };
    should(output.version).match(/^emulator\/lora-a:[0-9a-f]{64}$/);
    should(output.weights).startWith(`${emulator.origin}/outputs/`);
    should(done.metrics).have.property('predict_time');

    const versionId = output.version.split(':')[1]!;
    const model = (await client.call<WireModel>('GET', '/models/emulator/lora-a')).json;
    should(model.latest_version.id).equal(versionId);
    const versions = await replicate.models.versions.list('emulator', 'lora-a');
    should(versions.results.map((v) => v.id)).eql([versionId]);
    const version = (await client.call<WireVersion>('GET', `/models/emulator/lora-a/versions/${versionId}`)).json;
    should(version.openapi_schema).have.propertyByPath('components', 'schemas', 'Input', 'properties', 'prompt');

    const prediction = await replicate.predictions.create({ version: versionId, input: { prompt: 'TOK on a beach' } });
    should(prediction).match({ model: 'emulator/lora-a', version: versionId });
    const ran = await replicate.wait(prediction, { interval: 50 });
    should(ran.status).equal('succeeded');
    should(ran.output).be.an.Array().and.not.empty();
    // owner/name:version works as well; its schema checks the input
    const pinned = await client.call<Problem>('POST', '/predictions', { body: { version: output.version, input: {} } });
    should(pinned.status).equal(422);
    should(pinned.json.detail).containEql('prompt is required');
    // a private model's version is its owner's
    should((await other.call('POST', '/predictions', { body: { version: versionId, input: { prompt: 'x' } } })).status).equal(422);
  });

  it('refuses a missing destination, one of another account, a version that cannot train and an invalid input', async () => {
    const missing = await train('emulator/never-created');
    should(missing.status).equal(404);
    should((missing.json as unknown as Problem).detail).containEql('emulator/never-created');
    should((await train('black-forest-labs/flux-schnell')).status).equal(403);
    await other.call('POST', '/models', { body: { owner: 'someone-else', name: 'theirs', visibility: 'public', hardware: 'cpu' } });
    should((await train('someone-else/theirs')).status).equal(403);
    should((await train('no-slash')).status).equal(422);

    await client.call('POST', '/models', { body: { owner: 'emulator', name: 'lora-b', visibility: 'private', hardware: 'cpu' } });
    const invalid = await train('emulator/lora-b', { input_images: ZIP, steps: 1 });
    should(invalid.status).equal(422);
    should((invalid.json as unknown as Problem).detail).containEql('steps');
    should((await train('emulator/lora-b', { input_images: 'not-a-url' })).status).equal(422);

    const flux = (await client.call<WireModel>('GET', '/models/black-forest-labs/flux-schnell')).json.latest_version.id;
    const untrainable = await client.call('POST', `/models/black-forest-labs/flux-schnell/versions/${flux}/trainings`, {
      body: { destination: 'emulator/lora-b', input: {} },
    });
    should(untrainable.status).equal(400);
    should((await client.call('POST', `/models/${TRAINER}/versions/${'0'.repeat(64)}/trainings`, { body: {} })).status).equal(404);
  });

  it('cancels a training: canceled, and the destination gains no version', async () => {
    await client.call('POST', '/models', { body: { owner: 'emulator', name: 'lora-c', visibility: 'private', hardware: 'cpu' } });
    emulator.fault({ type: 'timing', startingMs: 10, processingMs: 60_000 });
    const created = await train('emulator/lora-c');
    should(created.status).equal(201);
    const canceled = await replicate.trainings.cancel(created.json.id);
    should(canceled.status).equal('canceled');
    should(canceled).not.have.property('output');
    should((await replicate.trainings.get(created.json.id)).status).equal('canceled');
    should((await client.call<WireModel>('GET', '/models/emulator/lora-c')).json.latest_version).be.null();
    should((await other.call('POST', `/trainings/${created.json.id}/cancel`)).status).equal(404);
  });

  it('lists an account its own trainings, newest first; trainings are not predictions', async () => {
    await client.call('POST', '/models', { body: { owner: 'emulator', name: 'lora-d', visibility: 'private', hardware: 'cpu' } });
    const first = (await train('emulator/lora-d')).json;
    const second = (await train('emulator/lora-d')).json;
    const page = await replicate.trainings.list();
    should(page.results.slice(0, 2).map((t) => t.id)).eql([second.id, first.id]);
    should((await other.call<{ results: unknown[] }>('GET', '/trainings')).json.results).be.empty();
    should((await other.call('GET', `/trainings/${first.id}`)).status).equal(404);
    should((await client.call('GET', `/predictions/${first.id}`)).status).equal(404);
  });

  it('sends signed webhooks with the training as their body', async function () {
    this.timeout(10_000);
    await client.call('POST', '/models', { body: { owner: 'emulator', name: 'lora-e', visibility: 'private', hardware: 'cpu' } });
    const created = (await train('emulator/lora-e', { input_images: ZIP }, { webhook: `${receiver.origin}/training` })).json;
    const completed = await eventually(
      () => receiver.requests.find((r) => r.path === '/training' && (JSON.parse(r.body) as WireTraining).status === 'succeeded'),
      5000,
    );
    const body = JSON.parse(completed.body) as WireTraining;
    should(body.id).equal(created.id);
    should(body.urls.get).endWith(`/v1/trainings/${created.id}`);
    should(body.output?.version).startWith('emulator/lora-e:');
    const valid = await validateWebhook({
      id: String(completed.headers['webhook-id']),
      timestamp: String(completed.headers['webhook-timestamp']),
      signature: String(completed.headers['webhook-signature']),
      body: completed.body,
      secret: emulator.account().webhookSecret,
    });
    should(valid).be.true();
    should(receiver.requests.filter((r) => r.path === '/training').map((r) => (JSON.parse(r.body) as WireTraining).status)).containEql(
      'starting',
    );
  });
});
