import should from 'should';
import { createHmac } from 'node:crypto';
import {
  DEFAULT_TOKEN,
  startEmulator,
  startRecorder,
  type Emulator,
  type EmulatorStats,
  type RecordedRequest,
  type Recorder,
} from '../emulator';
import { Client, eventually, sleep, type Reply } from './emulator-support/http-client';
import type { Page, Problem, WireModel, WirePrediction, WireVersion } from './emulator-support/wire';

const OTHER_TOKEN = 'r8_other_account_token';
const FLUX = 'black-forest-labs/flux-schnell';
const SDXL = 'stability-ai/sdxl';
const TIMING = { startingMs: 50, processingMs: 150 };

/** Checks a webhook's signature the Standard Webhooks way, independently of the emulator's code. */
function hasValidSignature(secret: string, webhook: { headers: Record<string, unknown>; body: string }): boolean {
  const id = String(webhook.headers['webhook-id']);
  const timestamp = String(webhook.headers['webhook-timestamp']);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${webhook.body}`).digest('base64');
  return String(webhook.headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
}

describe('Replicate emulator', function () {
  let emulator: Emulator;
  let client: Client;
  let other: Client;
  /** Receives the webhooks; the path of each webhook URL tells predictions apart. */
  let receiver: Recorder;
  let fluxVersion: string;
  let sdxlVersion: string;
  // Cancel-After is at least 5 s, so its predictions start first and are checked near the end.
  let deadlineTests: { created: number; aborted: Reply<WirePrediction>; canceled: Reply<WirePrediction> };

  before(async function () {
    this.timeout(30_000);
    emulator = await startEmulator({
      timing: TIMING,
      webhookRetryDelaysMs: [50, 100],
      accounts: [
        { token: DEFAULT_TOKEN, username: 'emulator' },
        { token: OTHER_TOKEN, username: 'someone-else', type: 'organization' },
      ],
    });
    client = new Client(emulator.url, DEFAULT_TOKEN);
    other = new Client(emulator.url, OTHER_TOKEN);
    receiver = await startRecorder();
    fluxVersion = (await client.call<WireModel>('GET', `/models/${FLUX}`)).json.latest_version.id;
    sdxlVersion = (await client.call<WireModel>('GET', `/models/${SDXL}`)).json.latest_version.id;

    const created = Date.now();
    emulator.fault({ type: 'timing', startingMs: 20_000, processingMs: 1000 });
    const aborted = await client.call<WirePrediction>('POST', `/models/${FLUX}/predictions`, {
      body: { input: { prompt: 'never starts' }, webhook: `${receiver.origin}/deadline`, webhook_events_filter: ['completed'] },
      headers: { 'cancel-after': '5s' },
    });
    emulator.fault({ type: 'timing', startingMs: 10, processingMs: 20_000 });
    const canceled = await client.call<WirePrediction>('POST', `/models/${FLUX}/predictions`, {
      body: { input: { prompt: 'runs too long' } },
      headers: { 'cancel-after': '0h0m5s' },
    });
    deadlineTests = { created, aborted, canceled };
  });

  after(async () => {
    await emulator.close();
    await Promise.all([client.close(), other.close(), receiver.close()]);
  });

  afterEach(() => emulator.clearFaults());

  const webhooksAt = (path: string) => receiver.requests.filter((w) => w.path === path);
  const create = (input: Record<string, unknown> = { prompt: 'a cake' }, extra: Record<string, unknown> = {}) =>
    client.call<WirePrediction>('POST', `/models/${FLUX}/predictions`, { body: { input, ...extra } });
  const createWith = (headers: Record<string, string>) =>
    client.call<WirePrediction>('POST', `/models/${FLUX}/predictions`, { body: { input: { prompt: 'x' } }, headers });

  describe('authentication and routing', () => {
    it("answers 401 without a valid token, in Replicate's words", async () => {
      for (const token of [null, 'r8_wrong']) {
        const reply = await client.call('GET', '/account', { token });
        should(reply.status).equal(401);
        should(reply.headers['content-type']).equal('application/problem+json');
        should(reply.json).eql({ title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 });
      }
    });

    it('answers 404 for unknown routes and models', async () => {
      for (const path of ['/nothing-here', '/models/nobody/nothing', '/predictions/abc/explode']) {
        const reply = await client.call('GET', path);
        should(reply.status).equal(404);
        should(reply.json).eql({ title: 'Not found', detail: 'The requested resource could not be found.', status: 404 });
      }
    });

    it('describes the account and its webhook secret', async () => {
      const account = await other.call('GET', '/account');
      should(account.json).match({ type: 'organization', username: 'someone-else' });
      const secret = await client.call<{ key: string }>('GET', '/webhooks/default/secret');
      should(secret.json.key)
        .equal(emulator.account().webhookSecret)
        .and.match(/^whsec_[A-Za-z0-9+/=]+$/);
    });
  });

  describe('creating predictions', () => {
    it('accepts a version id, owner/name:id and an official owner/name', async () => {
      const byId = await client.call<WirePrediction>('POST', '/predictions', { body: { version: sdxlVersion, input: { prompt: 'x' } } });
      should(byId.status).equal(201);
      should(byId.json).match({ model: SDXL, version: sdxlVersion, status: 'starting', output: null, error: null, source: 'api' });
      should(byId.json.id).match(/^[a-z0-9]{26}$/);
      // an image model streams its files too, from the stream origin (test/streaming.test.ts reads it)
      const { stream, ...urls } = byId.json.urls;
      should(urls).eql({
        cancel: `${emulator.url}/predictions/${byId.json.id}/cancel`,
        get: `${emulator.url}/predictions/${byId.json.id}`,
        web: `https://replicate.com/p/${byId.json.id}`,
      });
      should(stream).startWith(`${emulator.streamOrigin}/v1/files/`);

      const pinned = await client.call('POST', '/predictions', { body: { version: `${SDXL}:${sdxlVersion}`, input: {} } });
      should(pinned.json).match({ status: 'starting', model: SDXL, version: sdxlVersion });

      const official = await client.call('POST', '/predictions', { body: { version: FLUX, input: { prompt: 'x' } } });
      should(official.json).match({ model: FLUX, version: 'hidden' });
      const viaModel = await create();
      should(viaModel.status).equal(201);
      should(viaModel.json).match({ model: FLUX, version: 'hidden' });
    });

    it('refuses unknown versions and non-official models without a version', async () => {
      const invalid = {
        title: 'Invalid version or not permitted',
        detail: "The specified version does not exist (or perhaps you don't have permission to use it?)",
        status: 422,
      };
      for (const version of ['0'.repeat(64), SDXL, `${SDXL}:${fluxVersion}`, 'not a version']) {
        const reply = await client.call('POST', '/predictions', { body: { version, input: {} } });
        should(reply.status).equal(422);
        should(reply.json).eql(invalid);
      }
      const notOfficial = await client.call('POST', `/models/${SDXL}/predictions`, { body: { input: {} } });
      should(notOfficial.status).equal(404);
    });

    it('runs a deployment', async () => {
      const list = await client.call('GET', '/deployments');
      should(list.json).match({ next: null, previous: null, results: [{ owner: 'emulator', name: 'flux-schnell-prod' }] });
      const deployment = await client.call<{ current_release: unknown }>('GET', '/deployments/emulator/flux-schnell-prod');
      should(deployment.json.current_release).match({
        number: 1,
        model: FLUX,
        version: fluxVersion,
        configuration: { hardware: 'gpu-t4', min_instances: 0, max_instances: 1 },
      });
      const created = await client.call('POST', '/deployments/emulator/flux-schnell-prod/predictions', {
        body: { input: { prompt: 'x' } },
      });
      should(created.status).equal(201);
      should(created.json).match({ model: FLUX, version: fluxVersion, deployment: 'emulator/flux-schnell-prod' });
      should((await other.call('GET', '/deployments/emulator/flux-schnell-prod')).status).equal(404);
      should((await other.call('POST', '/deployments/emulator/flux-schnell-prod/predictions', { body: { input: {} } })).status).equal(404);
    });

    it('goes from starting through processing to succeeded with the catalog output, its files served by the emulator', async () => {
      const model = (await client.call<WireModel>('GET', `/models/${FLUX}`)).json;
      const { id } = (await create()).json;
      const processing = await eventually(async () => {
        const p = (await client.call<WirePrediction>('GET', `/predictions/${id}`)).json;
        return p.status === 'processing' && p;
      });
      should(processing.started_at).be.a.String();
      should(processing).not.have.property('completed_at');
      const done = await eventually(async () => {
        const p = (await client.call<WirePrediction>('GET', `/predictions/${id}`)).json;
        return p.status === 'succeeded' && p;
      });
      // the catalog's out-0.webp on replicate.delivery, as an image the emulator serves itself
      should(model.default_example?.output).match([/^https:\/\/replicate\.delivery\/.*\/out-0\.webp$/]);
      should(done.output).eql([`${emulator.origin}/outputs/${id}/out-0.png`]);
      should(done.logs).match(/100% done\n$/);
      should(Date.parse(done.completed_at!) - Date.parse(done.created_at)).be.approximately(TIMING.startingMs + TIMING.processingMs, 5);
      should(done.metrics?.predict_time).be.approximately(TIMING.processingMs / 1000, 0.005);
      should(emulator.prediction(id)).eql(done);
    });

    it("validates input against the model schema, in Replicate's shape", async () => {
      const reply = await create({ prompt: 42, num_outputs: 9, aspect_ratio: '7:3', not_an_input: true });
      should(reply.status).equal(422);
      should(reply.headers['content-type']).equal('application/problem+json');
      const body = reply.json as unknown as Problem;
      should(body.title).equal('Input validation failed');
      should(body.invalid_fields).containDeep([
        { type: 'invalid_type', field: 'input.prompt', description: 'Invalid type. Expected: string, given: integer' },
        { type: 'number_lte', field: 'input.num_outputs', description: 'Must be less than or equal to 4' },
        { type: 'enum', field: 'input.aspect_ratio' },
      ]);
      should(body.invalid_fields).not.containDeep([{ field: 'input.not_an_input' }]);
      should(body.detail).containEql('- input.num_outputs: Must be less than or equal to 4\n');
      should(body.detail).containEql('- input.aspect_ratio: input.aspect_ratio must be one of the following: "1:1", "16:9"');

      const missing = await create({});
      should(missing.json).eql({
        title: 'Input validation failed',
        detail: '- input: prompt is required\n',
        status: 422,
        invalid_fields: [{ type: 'required', field: 'input', description: 'prompt is required' }],
      });
    });

    it('takes an http(s) or data: URL for a file input (format uri), never a local path', async () => {
      const withImage = (image: unknown) =>
        client.call<Problem>('POST', '/predictions', { body: { version: sdxlVersion, input: { prompt: 'x', image } } });
      for (const image of ['/home/me/cat.png', 'cat.png', 'file:///home/me/cat.png', 'C:\\cat.png', 'https://', '']) {
        const reply = await withImage(image);
        should(reply.status).equal(422);
        should(reply.json).eql({
          title: 'Input validation failed',
          detail: "- input.image: Does not match format 'uri'\n",
          status: 422,
          invalid_fields: [{ type: 'format', field: 'input.image', description: "Does not match format 'uri'" }],
        });
      }
      for (const image of ['https://example.com/cat.png', 'http://127.0.0.1:8080/files/cat.png', 'data:image/png;base64,iVBORw0KGgo=']) {
        should((await withImage(image)).status).equal(201);
      }
      // the type is checked before the format
      should((await withImage(42)).json.detail).equal('- input.image: Invalid type. Expected: string, given: integer\n');
    });

    it('validates the request body itself', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ input: { prompt: 'x' }, colour: 'red' }, '- (root): Additional property colour is not allowed\n'],
        [{ input: 'a cake' }, '- input: Invalid type. Expected: object, given: string\n'],
        [{ input: { prompt: 'x' }, webhook: 'not a url' }, "- webhook: Does not match format 'uri'\n"],
        [
          { input: { prompt: 'x' }, webhook: 'http://127.0.0.1/x', webhook_events_filter: ['done'] },
          '- webhook_events_filter.0: webhook_events_filter.0 must be one of the following: "start", "output", "logs", "completed"\n',
        ],
      ];
      for (const [body, detail] of cases) {
        const reply = await client.call<Problem>('POST', `/models/${FLUX}/predictions`, { body });
        should(reply.status).equal(422);
        should(reply.json.detail).equal(detail);
      }
      should((await client.call<Problem>('POST', '/predictions', { body: { input: {} } })).json.detail).equal(
        '- (root): version is required\n',
      );
      should((await client.call('POST', '/predictions', { body: '{"version":' })).status).equal(400);
    });

    it('answers 402 for an account without billing', async () => {
      const poor = await startEmulator({ accounts: [{ token: 'r8_poor', username: 'poor', billing: false }] });
      const poorClient = new Client(poor.url, 'r8_poor');
      try {
        const reply = await poorClient.call('POST', `/models/${FLUX}/predictions`, { body: { input: { prompt: 'x' } } });
        should(reply.status).equal(402);
        should(reply.json).match({ title: 'Insufficient credit', status: 402 });
      } finally {
        await poor.close();
        await poorClient.close();
      }
    });
  });

  describe('Prefer: wait', () => {
    it('holds the response until the prediction has finished', async () => {
      const started = Date.now();
      const reply = await createWith({ prefer: 'wait' });
      should(reply.status).equal(201);
      should(reply.json.status).equal('succeeded');
      should(Date.now() - started).be.aboveOrEqual(TIMING.startingMs + TIMING.processingMs - 5);
    });

    it('answers 202 with the current state when the wait runs out', async () => {
      emulator.fault({ type: 'timing', startingMs: 10, processingMs: 5000 });
      const started = Date.now();
      const reply = await createWith({ prefer: 'wait=1' });
      should(Date.now() - started).be.within(990, 1500);
      should(reply.status).equal(202);
      should(reply.json.status).equal('processing');
      emulator.finish(reply.json.id, { status: 'succeeded' });
    });

    it('refuses a malformed Prefer header', async () => {
      for (const prefer of ['wait=0', 'wait=61', 'wait=soon', 'respond-async']) {
        const reply = await createWith({ prefer });
        should(reply.status).equal(400);
        should((reply.json as unknown as Problem).status).equal(400);
      }
    });
  });

  describe('cancel', () => {
    it('cancels a running prediction and leaves a finished one as it is', async () => {
      emulator.fault({ type: 'timing', startingMs: 0, processingMs: 10_000 });
      const { id } = (await create()).json;
      const canceled = await client.call<WirePrediction>('POST', `/predictions/${id}/cancel`);
      should(canceled.status).equal(200);
      should(canceled.json).match({ id, status: 'canceled', error: null });
      should(canceled.json.completed_at).be.a.String();
      const again = await client.call('POST', `/predictions/${id}/cancel`);
      should(again.status).equal(200);
      should(again.json).eql(canceled.json);

      const finished = (await createWith({ prefer: 'wait' })).json;
      const unchanged = await client.call('POST', `/predictions/${finished.id}/cancel`);
      should(unchanged.status).equal(200);
      // the same prediction, its files now named by URL where the sync answer had them inline
      should(unchanged.json).eql({ ...finished, output: emulator.prediction(finished.id)!.output });
    });

    it('refuses a Cancel-After it cannot honour', async () => {
      for (const cancelAfter of ['4s', 'soon', '5 m', '']) {
        const reply = await createWith({ 'cancel-after': cancelAfter });
        should(reply.status).equal(400);
      }
    });
  });

  describe('models', () => {
    it('pages through the whole catalog with cursors, without duplicates', async function () {
      this.timeout(20_000);
      const first = await client.call<Page<WireModel>>('GET', '/models');
      should(first.json.results).have.length(25);
      should(first.json.previous).be.null();
      should(first.json.next).startWith(`${emulator.url}/models?cursor=`);
      should(first.json.results[0]).have.property('is_official');
      const second = (await client.call<Page<WireModel>>('GET', first.json.next!)).json;
      should((await client.call<Page<WireModel>>('GET', second.previous!)).json.results).eql(first.json.results);

      const big = await startEmulator({ pageSize: 500 });
      const bigClient = new Client(big.url, DEFAULT_TOKEN);
      try {
        const seen = new Set<string>();
        let pages = 0;
        for (let next: string | null = `${big.url}/models`; next; pages++) {
          const page: Page<WireModel> = (await bigClient.call<Page<WireModel>>('GET', next)).json;
          for (const model of page.results) seen.add(`${model.owner}/${model.name}`);
          next = page.next;
          if (pages === 0) should(page.results).have.length(500);
          if (page.results.length < 500) should(next).be.null();
        }
        should(seen.size).be.aboveOrEqual(3800);
        should(pages).equal(Math.ceil(seen.size / 500));
      } finally {
        await big.close();
        await bigClient.close();
      }
    });

    it('sorts as asked and refuses unknown sort parameters', async () => {
      const byCreation = (await client.call<Page<WireModel>>('GET', '/models?sort_by=model_created_at&sort_direction=asc')).json.results;
      const times = byCreation.map((m) => Date.parse(m.created_at));
      should(times).eql([...times].sort((a, b) => a - b));
      const newestVersions = (await client.call<Page<WireModel>>('GET', '/models')).json.results.map((m) =>
        Date.parse(m.latest_version.created_at),
      );
      should(newestVersions).eql([...newestVersions].sort((a, b) => b - a));
      should((await client.call('GET', '/models?sort_by=popularity')).status).equal(400);
      should((await client.call('GET', '/models?sort_direction=sideways')).status).equal(400);
    });

    it('searches with QUERY, most run first, and pages with the same body', async () => {
      const reply = await client.call<Page<WireModel>>('QUERY', '/models', {
        body: 'flux SCHNELL',
        headers: { 'content-type': 'text/plain' },
      });
      should(reply.status).equal(200);
      const results = reply.json.results;
      should(results.map((m) => `${m.owner}/${m.name}`)).containEql(FLUX);
      for (const model of results) {
        const text = `${model.owner}/${model.name}\n${model.description}`.toLowerCase();
        should(text).containEql('flux').and.containEql('schnell');
      }
      const runs = results.map((m) => m.run_count);
      should(runs).eql([...runs].sort((a, b) => b - a));

      const broad = (await client.call<Page<WireModel>>('QUERY', '/models', { body: 'image' })).json;
      should(broad.next).match(/cursor=/);
      const page2 = (await client.call<Page<WireModel>>('QUERY', broad.next!, { body: 'image' })).json;
      should(page2.results[0]?.run_count).be.belowOrEqual(broad.results[24]!.run_count);
      const firstPage = new Set(broad.results.map((m) => `${m.owner}/${m.name}`));
      should(page2.results.filter((m) => firstPage.has(`${m.owner}/${m.name}`))).be.empty();
    });

    it('serves versions', async () => {
      const versions = (await client.call<Page<WireVersion>>('GET', `/models/${SDXL}/versions`)).json;
      should(versions).match({ next: null, previous: null, results: [{ id: sdxlVersion }] });
      should((await client.call<WireVersion>('GET', `/models/${SDXL}/versions/${sdxlVersion}`)).json.openapi_schema).be.an.Object();
      should((await client.call('GET', `/models/${SDXL}/versions/${fluxVersion}`)).status).equal(404);
    });
  });

  describe('accounts', () => {
    it("keeps each account's predictions to itself", async () => {
      const { id } = (await create()).json;
      should((await other.call('GET', `/predictions/${id}`)).status).equal(404);
      should((await other.call('POST', `/predictions/${id}/cancel`)).status).equal(404);
      const theirs = (await other.call<Page<WirePrediction>>('GET', '/predictions')).json.results;
      should(theirs.map((p) => p.id)).not.containEql(id);
    });

    it("lists the account's predictions newest first, a page at a time", async () => {
      const lister = await startEmulator({ pageSize: 3, timing: TIMING });
      const listClient = new Client(lister.url, DEFAULT_TOKEN);
      try {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push(
            (await listClient.call<WirePrediction>('POST', `/models/${FLUX}/predictions`, { body: { input: { prompt: `${i}` } } })).json.id,
          );
        }
        const first = (await listClient.call<Page<WirePrediction>>('GET', '/predictions')).json;
        should(first.results.map((p) => p.id)).eql([ids[4], ids[3], ids[2]]);
        should(first.previous).be.null();
        const second = (await listClient.call<Page<WirePrediction>>('GET', first.next!)).json;
        should(second.results.map((p) => p.id)).eql([ids[1], ids[0]]);
        should(second.next).be.null();
        should((await listClient.call<Page<WirePrediction>>('GET', second.previous!)).json.results.map((p) => p.id)).eql([
          ids[4],
          ids[3],
          ids[2],
        ]);
      } finally {
        await lister.close();
        await listClient.close();
      }
    });
  });

  describe('faults', () => {
    const predictionCount = (): number => Object.values(emulator.stats().predictions).reduce((a, b) => a + b, 0);

    it('answers with a status, before or after handling the request', async () => {
      emulator.fault({ type: 'status', status: 503, match: { method: 'GET', path: /^\/predictions\/[^/]+$/ } });
      const { id } = (await create()).json;
      const failed = await client.call('GET', `/predictions/${id}`);
      should(failed.status).equal(503);
      should(failed.json).match({ status: 503 });
      should((await client.call('GET', `/predictions/${id}`)).status).equal(200);

      const before = predictionCount();
      emulator.fault({ type: 'status', status: 500, process: true, match: { path: `/models/${FLUX}/predictions` } });
      should((await create()).status).equal(500);
      should(predictionCount()).equal(before + 1);

      emulator.fault({ type: 'status', status: 418, body: { custom: true }, headers: { 'x-fault': 'yes' } });
      const custom = await client.call('GET', '/account');
      should(custom.status).equal(418);
      should(custom.json).eql({ custom: true });
      should(custom.headers['x-fault']).equal('yes');
    });

    it('rate-limits the three ways Replicate does', async () => {
      emulator.fault({ type: 'rate-limit', retryAfterSeconds: 7 });
      const header = await client.call('GET', '/account');
      should(header.status).equal(429);
      should(header.headers['retry-after']).equal('7');

      emulator.fault({ type: 'rate-limit', retryAfterSeconds: 3, via: 'body' });
      const body = await client.call('GET', '/account');
      should(body.headers).not.have.property('retry-after');
      should(body.json).match({ status: 429, retry_after: 3 });

      emulator.fault({ type: 'rate-limit', retryAfterSeconds: 12, via: 'detail' });
      const detail = await client.call('GET', '/account');
      should(detail.headers).not.have.property('retry-after');
      should(detail.json).eql({ detail: 'Request was throttled. Your rate limit resets in ~12s.', status: 429 });
    });

    it('delays before or after handling', async () => {
      emulator.fault({ type: 'delay', ms: 150 });
      let started = Date.now();
      should((await client.call('GET', '/account')).status).equal(200);
      should(Date.now() - started).be.aboveOrEqual(145);

      const before = predictionCount();
      emulator.fault({ type: 'delay', ms: 150, after: true });
      started = Date.now();
      const pending = create();
      await eventually(() => predictionCount() === before + 1, 140, 'the prediction to exist while the answer waits');
      should((await pending).status).equal(201);
      should(Date.now() - started).be.aboveOrEqual(145);
    });

    it('drops the connection, before or after handling', async () => {
      emulator.fault({ type: 'drop' });
      await should(client.call('GET', '/account')).be.rejected();
      const before = predictionCount();
      emulator.fault({ type: 'drop', after: true, match: { method: 'POST' } });
      await should(create()).be.rejected();
      should(predictionCount()).equal(before + 1);
    });

    it('answers with a body that is not JSON', async () => {
      emulator.fault({ type: 'malformed' });
      const reply = await create();
      should(reply.status).equal(201);
      should(() => JSON.parse(reply.text) as unknown).throw();
      emulator.fault({ type: 'malformed', status: 200 });
      should((await client.call('GET', '/account')).status).equal(200);
    });

    it('answers 2xx with something that is not a prediction', async () => {
      emulator.fault({ type: 'invalid-prediction' });
      const reply = await create();
      should(reply.status).equal(201);
      should((reply.json as unknown as { status: string }).status).equal('exploded');
      should(reply.json).not.have.property('id');
    });

    it('ends the next predictions as told, with the timing asked', async () => {
      emulator.fault({ type: 'outcome', status: 'failed', error: 'CUDA out of memory' });
      const failed = (await createWith({ prefer: 'wait' })).json;
      should(failed).match({ status: 'failed', error: 'CUDA out of memory', output: null });

      emulator.fault({ type: 'outcome', status: 'succeeded', output: 'custom output', times: 2 });
      for (let i = 0; i < 2; i++) {
        const done = (await createWith({ prefer: 'wait' })).json;
        should(done.output).equal('custom output');
      }

      emulator.fault({ type: 'outcome', status: 'aborted' });
      const aborted = (await createWith({ prefer: 'wait' })).json;
      should(aborted.status).equal('aborted');
      should(aborted).not.have.property('started_at');

      emulator.fault({ type: 'timing', startingMs: 5, processingMs: 20 });
      const started = Date.now();
      const quick = (await createWith({ prefer: 'wait' })).json;
      should(quick.status).equal('succeeded');
      should(Date.now() - started).be.below(TIMING.startingMs + TIMING.processingMs);
    });

    it('applies a fault as many times as asked, or until cleared', async () => {
      emulator.fault({ type: 'status', status: 502, times: 2, match: { path: '/account' } });
      should((await client.call('GET', '/webhooks/default/secret')).status).equal(200);
      should((await client.call('GET', '/account')).status).equal(502);
      should((await client.call('GET', '/account')).status).equal(502);
      should((await client.call('GET', '/account')).status).equal(200);
      emulator.fault({ type: 'status', status: 500, times: Infinity });
      for (let i = 0; i < 3; i++) should((await client.call('GET', '/account')).status).equal(500);
      emulator.clearFaults();
      should((await client.call('GET', '/account')).status).equal(200);
    });
  });

  describe('webhooks', () => {
    const verified = (w: RecordedRequest): boolean => hasValidSignature(emulator.account().webhookSecret, w);

    it('sends signed start, logs, output and completed events', async () => {
      const { id } = (await create({ prompt: 'x' }, { webhook: `${receiver.origin}/all` })).json;
      await eventually(() => webhooksAt('/all').length === 4, 3000, 'four webhooks');
      const webhooks = webhooksAt('/all');
      const bodies = webhooks.map((w) => JSON.parse(w.body) as WirePrediction);
      should(bodies.map((b) => b.status)).eql(['starting', 'processing', 'processing', 'succeeded']);
      should(bodies.every((b) => b.id === id)).be.true();
      should(bodies[2]?.output).be.an.Array().and.not.be.empty();
      should(bodies[3]).eql((await client.call('GET', `/predictions/${id}`)).json);
      for (const webhook of webhooks) {
        should(verified(webhook)).be.true();
        should(webhook.headers['content-type']).equal('application/json');
        should(webhook.headers['user-agent']).match(/emulator/);
        should(webhook.headers['webhook-id']).match(/^msg_/);
        should(Math.abs(Number(webhook.headers['webhook-timestamp']) - Date.now() / 1000)).be.below(5);
      }
      should(new Set(webhooks.map((w) => w.headers['webhook-id'])).size).equal(4);
      should(emulator.webhooks.deliveries.filter((d) => d.predictionId === id).map((d) => d.event)).eql([
        'start',
        'logs',
        'output',
        'completed',
      ]);
    });

    it('sends only the events in webhook_events_filter', async () => {
      await create({ prompt: 'x' }, { webhook: `${receiver.origin}/filtered`, webhook_events_filter: ['completed'] });
      await sleep(TIMING.startingMs + TIMING.processingMs + 100);
      await emulator.webhooks.idle();
      should(webhooksAt('/filtered').map((w) => (JSON.parse(w.body) as WirePrediction).status)).eql(['succeeded']);
    });

    it('retries after a failed delivery with the same webhook-id, and redelivers on request', async () => {
      let failures = 1;
      receiver.answer = (w) => (w.path === '/flaky' && failures-- > 0 ? 500 : 200);
      try {
        await create({ prompt: 'x' }, { webhook: `${receiver.origin}/flaky`, webhook_events_filter: ['start'] });
        await eventually(() => webhooksAt('/flaky').length === 2, 2000, 'the retry');
        await emulator.webhooks.idle();
      } finally {
        receiver.answer = () => 200;
      }
      const [first, retry] = webhooksAt('/flaky');
      should(retry?.headers['webhook-id']).equal(first?.headers['webhook-id']);
      should(retry?.body).equal(first?.body);
      should(retry && verified(retry)).be.true();
      const attempts = emulator.webhooks.deliveries.filter((d) => d.webhookId === first?.headers['webhook-id']);
      should(attempts.map((d) => [d.attempt, d.status])).eql([
        [1, 500],
        [2, 200],
      ]);

      const redelivered = await emulator.webhooks.redeliver(String(first?.headers['webhook-id']));
      should(redelivered).match({ attempt: 3, status: 200, body: first?.body });
      const third = webhooksAt('/flaky')[2];
      should(third?.headers['webhook-id']).equal(first?.headers['webhook-id']);
      should(third && verified(third)).be.true();
    });

    it('sends completed when a prediction is finished by hand', async () => {
      emulator.fault({ type: 'timing', startingMs: 0, processingMs: 10_000 });
      const { id } = (await create({ prompt: 'x' }, { webhook: `${receiver.origin}/finished`, webhook_events_filter: ['completed'] })).json;
      emulator.finish(id, { status: 'failed', error: 'stopped by the test' });
      await emulator.webhooks.idle();
      should(webhooksAt('/finished').map((w) => JSON.parse(w.body) as unknown)).match([
        { id, status: 'failed', error: 'stopped by the test' },
      ]);
      should(() => emulator.finish(id, { status: 'succeeded' })).throw(/already ended/);
    });
  });

  describe('control API', () => {
    it('queues faults, reports stats and requests, and finishes predictions over HTTP', async () => {
      const control = <T = unknown>(method: string, path: string, body?: unknown) =>
        client.call<T>(method, `${emulator.origin}/_emulator${path}`, { token: null, body });
      should((await control('POST', '/faults', { type: 'status', status: 504, times: -1, match: { pathPattern: '^/acc' } })).status).equal(
        201,
      );
      should((await client.call('GET', '/account')).status).equal(504);
      should((await client.call('GET', '/account')).status).equal(504);
      should((await control('DELETE', '/faults')).status).equal(200);
      should((await client.call('GET', '/account')).status).equal(200);
      should((await control('POST', '/faults', { type: 'explode' })).status).equal(400);

      const stats = (await control<EmulatorStats>('GET', '/stats')).json;
      should(stats.byRoute['GET /account']).be.aboveOrEqual(3);
      should(stats.faultsFired).be.aboveOrEqual(2);
      const requests = (await control<RecordedRequest[]>('GET', '/requests?limit=2')).json;
      should(requests).have.length(2);
      should(requests[1]).match({ method: 'GET', path: '/v1/account', headers: { authorization: 'Bearer ***' } });
      should(emulator.requests.at(-1)?.headers.authorization).equal(`Bearer ${DEFAULT_TOKEN}`);

      emulator.fault({ type: 'timing', startingMs: 0, processingMs: 10_000 });
      const { id } = (await create()).json;
      const finished = await control('POST', `/predictions/${id}/finish`, { status: 'succeeded', output: ['done'] });
      should(finished.json).match({ id, status: 'succeeded', output: ['done'] });
      should((await control('POST', `/predictions/${id}/finish`, { status: 'failed' })).status).equal(409);
    });

    it('resets everything', async () => {
      const fresh = await startEmulator({ timing: TIMING });
      const freshClient = new Client(fresh.url, DEFAULT_TOKEN);
      try {
        await freshClient.call('POST', `/models/${FLUX}/predictions`, { body: { input: { prompt: 'x' } } });
        fresh.fault({ type: 'status', status: 500, match: { path: '/never' } });
        should((await freshClient.call('POST', `${fresh.origin}/_emulator/reset`, { token: null })).status).equal(200);
        should(fresh.requests).be.empty();
        should(fresh.stats()).match({ requests: 0, predictions: {} });
        should((await freshClient.call<Page<WirePrediction>>('GET', '/predictions')).json.results).be.empty();
      } finally {
        await fresh.close();
        await freshClient.close();
      }
    });
  });

  describe('Cancel-After', () => {
    it('aborts a prediction still starting and cancels one processing at the deadline', async function () {
      this.timeout(10_000);
      const { created, aborted, canceled } = deadlineTests;
      should(aborted.status).equal(201);
      should(Date.parse(aborted.json.deadline!) - Date.parse(aborted.json.created_at)).equal(5000);
      await sleep(Math.max(0, created + 5200 - Date.now()));
      should((await client.call('GET', `/predictions/${aborted.json.id}`)).json).match({ status: 'aborted', output: null });
      should((await client.call('GET', `/predictions/${canceled.json.id}`)).json).match({ status: 'canceled', started_at: /Z$/ });
      await eventually(() => webhooksAt('/deadline').length === 1, 1000, 'the completed webhook');
      should((JSON.parse(webhooksAt('/deadline')[0]?.body ?? '{}') as Partial<WirePrediction>).status).equal('aborted');
    });
  });

  describe('close()', () => {
    it('leaves nothing keeping the process alive', async () => {
      const count = (): Record<string, number> => {
        const counts: Record<string, number> = {};
        for (const resource of process.getActiveResourcesInfo()) counts[resource] = (counts[resource] ?? 0) + 1;
        return counts;
      };
      const flaky = await startRecorder();
      flaky.answer = () => 500;
      const before = count();

      const doomed = await startEmulator({ timing: { startingMs: 10, processingMs: 60_000 }, webhookRetryDelaysMs: [60_000] });
      const doomedClient = new Client(doomed.url, DEFAULT_TOKEN);
      await doomedClient.call('POST', `/models/${FLUX}/predictions`, { body: { input: { prompt: 'x' }, webhook: `${flaky.origin}/x` } });
      const waiting = doomedClient
        .call('POST', `/models/${FLUX}/predictions`, { body: { input: { prompt: 'x' } }, headers: { prefer: 'wait=60' } })
        .catch(() => undefined);
      await eventually(() => doomed.webhooks.deliveries.length > 0, 2000, 'a failed delivery');
      await sleep(50);
      await doomed.close();
      await waiting;
      await doomedClient.close();
      await sleep(50);

      const after = count();
      for (const [resource, n] of Object.entries(after)) should(n).be.belowOrEqual(before[resource] ?? 0, `${resource} left open`);
      await flaky.close();
    });
  });
});
