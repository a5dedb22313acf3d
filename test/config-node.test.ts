// The config node: its "Test connection" endpoint, the token fallback and settings checks.
import should from 'should';
import { DEFAULT_TOKEN, startEmulator, type Emulator } from '../emulator';
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
  const test = (body: object) => helper.request().post('/replicate-config/test').send(body).expect(200);

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
    should((await test({ baseUrl: emulator.url })).body.message).match(/^No Replicate API token/);
    should((await test({ baseUrl: 'http://replicate.example.com/v1', token: DEFAULT_TOKEN })).body.message).match(/must start with https:\/\//);
  });

  it('reports settings it cannot use when deployed', async () => {
    await load({ cfg: { token: DEFAULT_TOKEN } }, { timeout: 'soon', concurrency: 0 });
    const config = helper.getNode('cfg');
    should(() => config.client()).throw(/^Replicate config: Timeout must be a number; Parallel requests must be at least 1/);
  });

  it('gives each config node its own client', async () => {
    await helper.load(
      nodeModules(['replicate-config']),
      [configNode('a', emulator.url), configNode('b', emulator.url)],
      { a: { token: DEFAULT_TOKEN }, b: { token: DEFAULT_TOKEN } },
    );
    const a = helper.getNode('a');
    const b = helper.getNode('b');
    should(a.client()).equal(a.client());
    should(a.client()).not.equal(b.client());
  });
});
