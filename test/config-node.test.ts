// The config node: its "Test connection" endpoint, the token fallback and settings checks.
import should from 'should';
import { DEFAULT_TOKEN, startEmulator, type Emulator } from '../emulator';
import type { ReplicateConfigNode } from '../nodes/node-types';
import { ask, type DeploymentsAnswer, type ModelsAnswer, type SchemaAnswer, type VersionsAnswer } from './support/editor-endpoints';
import { configNode, helper, nodeModules } from './support/node-red';

describe('replicate-config node', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator();
    await helper.startServer();
  });
  afterEach(async () => {
    delete process.env.REPLICATE_API_TOKEN;
    await helper.unload();
  });
  after(async () => {
    await helper.stopServer();
    await emulator.close();
  });

  const load = (credentials: Record<string, object> = {}, extra: Record<string, unknown> = {}) =>
    helper.load(nodeModules(['replicate-config']), [configNode('cfg', emulator.url, extra)], credentials);
  const test = (body: object) => ask('test', body);

  it('tests a just-typed token and names its account, without sending the token back', async () => {
    await load();
    const res = await test({ id: 'cfg', baseUrl: emulator.url, token: DEFAULT_TOKEN });
    should(res.body).eql({ ok: true, account: { username: 'emulator', name: 'Replicate Emulator', type: 'user' } });
    should(res.text).not.containEql(DEFAULT_TOKEN);
  });

  it('uses the stored token when the password field was left unchanged', async () => {
    await load({ cfg: { token: DEFAULT_TOKEN } });
    const res = await test({ id: 'cfg', baseUrl: emulator.url, token: '__PWRD__' });
    should(res.body.ok).be.true();
    should(emulator.requests.at(-1)!.headers.authorization).equal(`Bearer ${DEFAULT_TOKEN}`);
  });

  it('falls back to REPLICATE_API_TOKEN when no token is stored', async () => {
    process.env.REPLICATE_API_TOKEN = DEFAULT_TOKEN;
    await load();
    should((await test({ id: 'cfg', baseUrl: emulator.url })).body.ok).be.true();
  });

  it('explains a rejected token, a missing token and an unsafe URL', async () => {
    await load();
    const rejected = await test({ baseUrl: emulator.url, token: 'r8_not_a_real_token' });
    should(rejected.body.ok).be.false();
    should(rejected.body.message).match(/^Replicate rejected the token \(401\)/);
    should(rejected.text).not.containEql('r8_not_a_real_token');
    should((await test({ id: 'cfg', baseUrl: emulator.url })).body.message).match(/^No Replicate API token/);
    should((await test({ baseUrl: 'http://replicate.example.com/v1', token: DEFAULT_TOKEN })).body.message).match(
      /must start with https:\/\//,
    );
  });

  it('asks "did you mean …/v1?" when the API base URL lacks /v1, instead of the 404 sentence', async () => {
    await load();
    const origin = new URL(emulator.url).origin;
    should(emulator.url).equal(`${origin}/v1`);
    const res = await test({ baseUrl: origin, token: DEFAULT_TOKEN });
    should(res.body).eql({ ok: false, message: `Replicate has no account at this API base URL (404): did you mean ${origin}/v1?` });
    // a base URL with /v1 that is wrong otherwise keeps the 404 sentence
    const other = await test({ baseUrl: `${origin}/v1/nowhere/v1`, token: DEFAULT_TOKEN });
    should(other.body.ok).be.false();
    should(other.body.message).not.containEql('did you mean');
  });

  it('reports settings it cannot use when deployed', async () => {
    await load({ cfg: { token: DEFAULT_TOKEN } }, { timeout: 'soon', concurrency: 0 });
    const config = helper.getNode('cfg') as ReplicateConfigNode;
    should(() => config.client()).throw(/^Replicate account: Timeout must be a number; Parallel requests must be at least 1/);
  });

  it('gives each config node its own client', async () => {
    await helper.load(nodeModules(['replicate-config']), [configNode('a', emulator.url), configNode('b', emulator.url)], {
      a: { token: DEFAULT_TOKEN },
      b: { token: DEFAULT_TOKEN },
    });
    const a = helper.getNode('a') as ReplicateConfigNode;
    const b = helper.getNode('b') as ReplicateConfigNode;
    should(a.client()).equal(a.client());
    should(a.client()).not.equal(b.client());
  });

  describe('what the create dialog asks through it', () => {
    it("searches models, lists versions and deployments, and describes a model's input", async () => {
      await load({ cfg: { token: DEFAULT_TOKEN } });
      const ref = { id: 'cfg', baseUrl: emulator.url, token: '__PWRD__' }; // the stored token
      const found = await ask<ModelsAnswer>('models', { config: ref, query: 'flux schnell' });
      should(found.body.ok).be.true();
      const flux = found.body.models.find((m) => m.ref === 'black-forest-labs/flux-schnell')!;
      should(flux).match({ official: true, latestVersion: /^[0-9a-f]{64}$/ });
      should(found.text).not.containEql(DEFAULT_TOKEN);

      const listed = await ask<ModelsAnswer>('models', { config: ref });
      should(listed.body.models).have.length(25);
      const next = await ask<ModelsAnswer>('models', { config: ref, cursor: listed.body.next });
      should(next.body.models[0]?.ref).not.equal(listed.body.models[0]?.ref);

      const versions = await ask<VersionsAnswer>('versions', { config: ref, model: 'black-forest-labs/flux-schnell' });
      should(versions.body.versions[0]?.id).equal(flux.latestVersion);

      const deployments = await ask<DeploymentsAnswer>('deployments', { config: ref });
      should(deployments.body.deployments).eql([
        { ref: 'emulator/flux-schnell-prod', model: 'black-forest-labs/flux-schnell', version: flux.latestVersion },
      ]);

      for (const target of [
        { model: 'black-forest-labs/flux-schnell' },
        { model: `black-forest-labs/flux-schnell:${flux.latestVersion}` },
        { deployment: 'emulator/flux-schnell-prod' },
      ]) {
        const schema = await ask<SchemaAnswer>('schema', { config: ref, ...target });
        should(schema.body).match({ ok: true, model: 'black-forest-labs/flux-schnell', version: flux.latestVersion });
        should(schema.body.fields[0]).match({ name: 'prompt', type: 'string', required: true });
        should(schema.body.fields.find((f) => f.name === 'aspect_ratio')).match({
          default: '1:1',
          enum: ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'],
        });
        // what the input form needs: the range of a number
        should(schema.body.fields.find((f) => f.name === 'num_outputs')).match({ type: 'integer', minimum: 1, maximum: 4, default: 1 });
      }
    });

    it('works for a config node not yet deployed, with the token just typed, and explains failures', async () => {
      await load();
      const fresh = { id: 'not-deployed', baseUrl: emulator.url, token: DEFAULT_TOKEN };
      should((await ask<ModelsAnswer>('models', { config: fresh, query: 'upscale' })).body.models.length).be.above(0);
      const missing = await ask('schema', { config: fresh, model: 'nobody/nothing' });
      should(missing.body).match({ ok: false, message: /could not find the model "nobody\/nothing" \(404\)/ });
      const noToken = await ask('models', { config: { id: 'not-deployed', baseUrl: emulator.url } });
      should(noToken.body.message).match(/^Type the token to use a Replicate account that is not deployed/);
    });
  });
});
