// The emulator as Replicate's official JS client sees it: each test uses the client as a user
// would (its own fetch, no options beyond the token and the base URL), and every JSON body the
// emulator answers validates against Replicate's OpenAPI description (test/support/openapi.ts).
// Streams are text/event-stream, not JSON: there the client's reading of the text and the
// prediction's `urls.stream` are what is checked.
import should from 'should';
import Replicate, { validateWebhook, type FileOutput, type Prediction, type Training } from 'replicate';
import { DEFAULT_TOKEN, startEmulator, startRecorder, type Emulator, type Recorder } from '../emulator';
import { detectContentType } from '../nodes/core';
import { OpenApiChecker } from './support/openapi';

const FLUX = 'black-forest-labs/flux-schnell';
const SDXL = 'stability-ai/sdxl';
const LLAMA = 'meta/meta-llama-3-8b-instruct';
const TRAINER = 'ostris/flux-dev-lora-trainer';
const ZIP = 'data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==';

describe('Contract: the official JS client against the emulator', function () {
  let emulator: Emulator;
  let receiver: Recorder;
  let replicate: Replicate;
  const checker = new OpenApiChecker();
  /** Operations whose answers were checked, over the whole suite. */
  const checked = new Set<string>();

  before(async () => {
    emulator = await startEmulator({ timing: { startingMs: 20, processingMs: 80 }, recordResponses: true, pageSize: 5 });
    receiver = await startRecorder();
    replicate = new Replicate({ auth: DEFAULT_TOKEN, baseUrl: emulator.url });
  });

  afterEach(function () {
    const problems = emulator.requests.flatMap((request) => {
      const operation = checker.operationOf(request.method, request.path.replace(/^\/v1/, ''));
      if (operation && request.response) checked.add(`${operation} ${request.response.status}`);
      return checker.problems(request);
    });
    emulator.clearRequests();
    if (problems.length > 0 && this.currentTest?.state === 'passed')
      throw new Error(`Answers off the description:\n${problems.join('\n')}`);
  });

  after(async () => {
    await emulator.close();
    await receiver.close();
  });

  it('checks the answers it sees against the description, and would catch one that strays', () => {
    const strayed = checker.problems({
      method: 'GET',
      path: '/v1/predictions/abc',
      query: {},
      headers: {},
      body: '',
      at: 0,
      response: { status: 200, contentType: 'application/json', body: JSON.stringify({ id: 'abc', status: 'exploded' }) },
    });
    should(strayed.join('\n'))
      .match(/must have required property 'model'/)
      .and.match(/must be equal to one of the allowed values/);
  });

  // The JS client makes FileOutput of https: and data: URLs only; the emulator's file origin is plain
  // http on 127.0.0.1 (emulator/README.md), so FileOutput comes with its data: URL option.
  it('runs a model and hands back its files as FileOutput with the bytes (sync outputs inline)', async () => {
    const inline = await startEmulator({ timing: { startingMs: 20, processingMs: 80 }, recordResponses: true, syncOutputs: 'data-url' });
    try {
      const client = new Replicate({ auth: DEFAULT_TOKEN, baseUrl: inline.url });
      const output = (await client.run(FLUX, { input: { prompt: 'a lighthouse' } })) as FileOutput[];
      should(output).have.length(1);
      const blob = await output[0]!.blob();
      should(detectContentType(new Uint8Array(await blob.arrayBuffer()))).equal('image/png');
      should(inline.requests.flatMap((request) => checker.problems(request))).eql([]);
    } finally {
      await inline.close();
    }
  });

  it('runs a model and hands back the URLs of its files on the emulator, which serve the bytes', async () => {
    const [url] = (await replicate.run(FLUX, { input: { prompt: 'a lighthouse' } })) as string[];
    should(url).startWith(`${emulator.origin}/outputs/`);
    should(detectContentType(new Uint8Array(await (await fetch(url!)).arrayBuffer()))).equal('image/png');
  });

  it('creates a file with metadata, then gets, lists and deletes it', async () => {
    const bytes = Buffer.from('\x89PNG\r\n\x1a\n tiny', 'latin1');
    const file = await replicate.files.create(bytes, { customer_reference_id: 123 });
    should(file).match({ size: bytes.length, metadata: { customer_reference_id: 123 } });
    should(file.checksums.sha256).match(/^[0-9a-f]{64}$/);
    should(await replicate.files.get(file.id)).eql(file);
    const listed = await replicate.files.list();
    should(listed.results.map((f) => f.id)).containEql(file.id);
    await replicate.files.delete(file.id);
    await should(replicate.files.get(file.id)).be.rejectedWith(/404/);
  });

  it('creates, gets, lists, cancels and waits for predictions, official models by name', async () => {
    const model = await replicate.models.get('stability-ai', 'sdxl');
    const byVersion = await replicate.predictions.create({ version: model.latest_version!.id, input: { prompt: 'a fox' } });
    should(byVersion.status).equal('starting');
    should((await replicate.predictions.get(byVersion.id)).id).equal(byVersion.id);
    const done = await replicate.wait(byVersion, { interval: 50 });
    should(done.status).equal('succeeded');

    emulator.fault({ type: 'timing', startingMs: 0, processingMs: 10_000 });
    const long = await replicate.predictions.create({ model: 'black-forest-labs/flux-1.1-pro-ultra', input: { prompt: 'a wide view' } });
    should(long.version).equal('hidden');
    const canceled = await replicate.predictions.cancel(long.id);
    should(canceled.status).equal('canceled');

    const page = await replicate.predictions.list();
    should(page.results.map((p: Prediction) => p.id)).containEql(long.id);
  });

  it('gets, lists and searches models and lists versions, a query JSON-quoted as the client sends it', async () => {
    const model = await replicate.models.get('black-forest-labs', 'flux-schnell');
    should(model).match({ owner: 'black-forest-labs', name: 'flux-schnell', is_official: true });
    const page = await replicate.models.list();
    should(page.results).have.length(5);
    should(page.next).be.a.String();
    const versions = await replicate.models.versions.list('black-forest-labs', 'flux-schnell');
    should(versions.results.map((v) => v.id)).eql([model.latest_version!.id]);
    const found = await replicate.models.search('flux');
    should(emulator.requests.find((r) => r.method === 'QUERY')?.body).equal('"flux"');
    should(found.results.length).be.above(0);
    for (const result of found.results) should(`${result.owner}/${result.name} ${result.description}`.toLowerCase()).containEql('flux');
  });

  it('reads a model’s examples and readme, and searches models and collections', async () => {
    const examples = (await (await replicate.request(`/models/${SDXL}/examples`, { method: 'GET' })).json()) as { results: Prediction[] };
    should(examples.results[0]).match({ model: SDXL, status: 'succeeded' });
    const readme = await (await replicate.request(`/models/${SDXL}/readme`, { method: 'GET' })).text();
    should(readme).startWith(`# ${SDXL}`);
    const search = (await (await replicate.request('/search?query=upscale&limit=3', { method: 'GET' })).json()) as {
      models: Array<{ model: { name: string } }>;
    };
    should(search.models.length).be.within(1, 3);
  });

  it('reads, creates, updates and deletes deployments, and runs one', async () => {
    const [first] = (await replicate.deployments.list()).results;
    should(first).match({ owner: 'emulator', name: 'flux-schnell-prod' });
    const sdxl = await replicate.models.get('stability-ai', 'sdxl');
    const created = await replicate.deployments.create({
      name: 'my-sdxl',
      model: SDXL,
      version: sdxl.latest_version!.id,
      hardware: 'gpu-t4',
      min_instances: 0,
      max_instances: 2,
    });
    should(created.current_release).match({ number: 1, model: SDXL, configuration: { max_instances: 2 } });
    const updated = await replicate.deployments.update('emulator', 'my-sdxl', { max_instances: 4 });
    should(updated.current_release).match({ number: 2, configuration: { hardware: 'gpu-t4', max_instances: 4 } });
    should((await replicate.deployments.get('emulator', 'my-sdxl')).current_release.number).equal(2);
    const run = await replicate.deployments.predictions.create('emulator', 'my-sdxl', { input: { prompt: 'a deployed fox' } });
    should(run.model).equal(SDXL);
    should(await replicate.deployments.delete('emulator', 'my-sdxl')).be.true();
    await should(replicate.deployments.get('emulator', 'my-sdxl')).be.rejectedWith(/404/);
  });

  it('lists collections and gets one with its models', async () => {
    const collections = await replicate.collections.list();
    should(collections.results.map((c) => c.slug)).containEql('official');
    const official = await replicate.collections.get('official');
    should((official.models ?? []).map((m) => `${m.owner}/${m.name}`)).containEql('meta/meta-llama-3.1-405b-instruct');
  });

  it('streams a language model’s text from the stream origin, without a token, as the prediction’s urls.stream names it', async () => {
    let text = '';
    for await (const event of replicate.stream(LLAMA, { input: { prompt: 'Name a colour of the sea' } }))
      if (event.event === 'output') text += event.data;
    const created = emulator.requests.find((r) => r.method === 'POST' && r.path === `/v1/models/${LLAMA}/predictions`)!;
    const prediction = JSON.parse(created.response!.body) as Prediction;
    const streamUrl = prediction.urls.stream!;
    should(URL.canParse(streamUrl)).be.true();
    should(new URL(streamUrl).origin).equal(emulator.streamOrigin);
    should(emulator.streamOrigin).not.equal(emulator.origin);
    const read = emulator.requests.find((r) => `${emulator.streamOrigin}${r.path}` === streamUrl)!;
    should(read.headers).not.have.property('authorization');
    should(read.headers.accept).equal('text/event-stream');
    should(text).containEql('Name a colour of the sea');
    const done = await replicate.wait(prediction, { interval: 50 });
    should(text).equal((done.output as string[]).join(''));
  });

  it('lists hardware, creates a destination model, and trains it: create, get, list, cancel', async () => {
    const hardware = await replicate.hardware.list();
    should(hardware.map((h) => h.sku)).containEql('cpu');
    const destination = await replicate.models.create('emulator', 'contract-lora', {
      visibility: 'private',
      hardware: hardware.find((h) => h.sku === 'cpu')!.sku,
      description: 'trained by the contract suite',
    });
    should(destination).match({ owner: 'emulator', name: 'contract-lora', visibility: 'private', latest_version: null });
    const trainer = await replicate.models.get('ostris', 'flux-dev-lora-trainer');
    const [owner, name] = TRAINER.split('/') as [string, string];
    const training = await replicate.trainings.create(owner, name, trainer.latest_version!.id, {
      destination: 'emulator/contract-lora',
      input: { input_images: ZIP, steps: 100 },
    });
    should(training.status).equal('starting');
    let trained: Training = training;
    for (let look = 0; look < 100 && !['succeeded', 'failed', 'canceled'].includes(trained.status); look++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      trained = await replicate.trainings.get(training.id);
    }
    should(trained.status).equal('succeeded');
    const { version, weights } = trained.output as { version: string; weights: string };
    should(URL.canParse(weights)).be.true();
    const model = await replicate.models.get('emulator', 'contract-lora');
    should(version).equal(`emulator/contract-lora:${model.latest_version!.id}`);

    emulator.fault({ type: 'timing', startingMs: 0, processingMs: 10_000 });
    const long = await replicate.trainings.create(owner, name, trainer.latest_version!.id, {
      destination: 'emulator/contract-lora',
      input: { input_images: ZIP },
    });
    should((await replicate.trainings.cancel(long.id)).status).equal('canceled');
    const page = await replicate.trainings.list();
    should(page.results.map((t) => t.id))
      .containEql(training.id)
      .and.containEql(long.id);
    should((await replicate.models.get('emulator', 'contract-lora')).latest_version!.id).equal(model.latest_version!.id);
  });

  it('describes the account and its webhook secret, and its deliveries pass validateWebhook', async () => {
    should(await replicate.accounts.current()).match({ type: 'user', username: 'emulator' });
    const { key } = await replicate.webhooks.default.secret.get();
    const prediction = await replicate.predictions.create({
      model: FLUX,
      input: { prompt: 'a signed cat' },
      webhook: `${receiver.origin}/hook`,
      webhook_events_filter: ['completed'],
    });
    await replicate.wait(prediction, { interval: 50 });
    await emulator.webhooks.idle();
    const delivery = receiver.requests.find((r) => r.path === '/hook')!;
    const signed = {
      id: String(delivery.headers['webhook-id']),
      timestamp: String(delivery.headers['webhook-timestamp']),
      signature: String(delivery.headers['webhook-signature']),
      secret: key,
    };
    should(await validateWebhook({ ...signed, body: delivery.body })).be.true();
    should(await validateWebhook({ ...signed, body: delivery.body.replace('signed', 'forged') })).be.false();
  });

  it('saw the answers of every operation it used', () => {
    for (const operation of [
      'GET /account 200',
      'GET /collections 200',
      'GET /collections/{collection_slug} 200',
      'POST /deployments 200',
      'PATCH /deployments/{deployment_owner}/{deployment_name} 200',
      'GET /files/{file_id} 200',
      'POST /files 201',
      'GET /models/{model_owner}/{model_name}/versions 200',
      'GET /models/{model_owner}/{model_name}/examples 200',
      'GET /search 200',
      'POST /predictions/{prediction_id}/cancel 200',
      'GET /webhooks/default/secret 200',
      'POST /models/{model_owner}/{model_name}/predictions 201',
      'GET /hardware 200',
      'POST /models 201',
      'POST /models/{model_owner}/{model_name}/versions/{version_id}/trainings 201',
      'GET /trainings/{training_id} 200',
      'POST /trainings/{training_id}/cancel 200',
      'GET /trainings 200',
    ])
      should([...checked]).containEql(operation);
  });
});
