// The admin endpoints behind the edit dialogs send a stored or environment token only to the API
// base URL of the deployed config node it belongs to. Anything else needs a token typed in the
// dialog, and the permission to change config nodes: a user who may only look at flows must not
// be able to collect tokens on a server of their choice.
import should from 'should';
import { DEFAULT_TOKEN, startEmulator, startRecorder, type Emulator, type Recorder } from '../emulator';
import { sameBaseUrl } from '../nodes/core';
import { ask, type ModelsAnswer } from './support/editor-endpoints';
import { configNode, helper, nodeModules } from './support/node-red';
import { startNodeRedProcess, type NodeRedProcess } from './support/node-red-host';

const ROUTES: Array<[string, Record<string, unknown>]> = [
  ['test', {}],
  ['models', { query: 'flux' }],
  ['versions', { model: 'black-forest-labs/flux-schnell' }],
  ['deployments', {}],
  ['schema', { model: 'black-forest-labs/flux-schnell' }],
  ['training-schema', { trainer: 'ostris/flux-dev-lora-trainer' }],
  ['hardware', {}],
];
/** A non-config node's credentials, named as a config node's would be. */
const OTHER_TOKEN = 'r8_credential_of_another_node';
const OTHER_SECRET = 'shared-secret-of-a-completed-node';
const ENV_TOKEN = 'r8_from_the_environment';
const TYPED_TOKEN = 'r8_typed_in_the_dialog';
const SECRETS = [DEFAULT_TOKEN, OTHER_TOKEN, OTHER_SECRET, ENV_TOKEN];

describe('editor endpoints: where a token may go', () => {
  let emulator: Emulator;
  /** Another host, recording every request that reaches it: where a token must never go. */
  let capture: Recorder;
  let captureUrl: string;
  before(async () => {
    emulator = await startEmulator();
    capture = await startRecorder();
    captureUrl = `${capture.origin}/v1`;
    await helper.startServer();
  });
  afterEach(async () => {
    for (const name of ['REPLICATE_API_TOKEN', 'CAPTURE_URL', 'REPLICATE_TEST_URL', 'NOT_A_URL', 'UNREACHABLE_URL', 'NEVER_SET'])
      delete process.env[name];
    capture.clearRequests();
    emulator.clearRequests();
    await helper.unload();
  });
  after(async () => {
    await helper.stopServer();
    await capture.close();
    await emulator.close();
  });

  /** The deployed config node 'cfg' (its token stored), and a non-config node with credentials. */
  const load = (baseUrl = emulator.url) =>
    helper.load(
      nodeModules(['replicate-config']),
      [{ id: 'tab', type: 'tab' }, configNode('cfg', baseUrl), { id: 'other', type: 'helper', z: 'tab', x: 100, y: 100, wires: [] }],
      { cfg: { token: DEFAULT_TOKEN }, other: { token: OTHER_TOKEN, sharedSecret: OTHER_SECRET } },
    );

  it('sends no stored, other or environment token anywhere but the deployed API URL, whatever the dialog sends', async function () {
    this.timeout(60_000); // some 500 requests on a busy machine
    process.env.REPLICATE_API_TOKEN = ENV_TOKEN;
    process.env.CAPTURE_URL = captureUrl;
    await load();
    const spellings = [
      captureUrl,
      `${captureUrl}/`,
      `HTTP://127.0.0.1:${capture.port}/v1`,
      `http://localhost:${capture.port}/v1`,
      `http://127.0.0.1:${capture.port}`,
      '${CAPTURE_URL}',
      '$(CAPTURE_URL)',
    ];
    const refs: Array<Record<string, unknown>> = [
      ...spellings.map((baseUrl) => ({ id: 'cfg', baseUrl })), // the deployed config node, pointed elsewhere
      { id: 'other', baseUrl: captureUrl }, // a node that is not a config node
      { id: 'not-deployed', baseUrl: captureUrl },
      { id: ['cfg'], baseUrl: captureUrl },
      { baseUrl: captureUrl }, // no id
      { baseUrl: '${CAPTURE_URL}' },
    ];
    const tokens: Array<Record<string, unknown>> = [{}, { token: '__PWRD__' }, { token: '' }, { token: '   ' }, { token: null }];
    let asked = 0;
    for (const [route, extra] of ROUTES) {
      for (const ref of refs) {
        for (const token of tokens) {
          for (const body of [
            { ...extra, config: { ...ref, ...token } },
            { ...extra, ...ref, ...token },
          ]) {
            const res = await ask(route, body);
            asked++;
            const where = `${route} ${JSON.stringify(body)}`;
            should(res.body).match({ ok: false, message: /^[A-Z].+/ }, where);
            for (const secret of SECRETS) should(res.text).not.containEql(secret);
            should(capture.requests).eql([], `${where} reached the capture server`);
          }
        }
      }
    }
    should(asked).equal(ROUTES.length * refs.length * tokens.length * 2);

    // The same capture server does see a token typed beside its URL...
    const typed = await ask('models', { config: { id: 'cfg', baseUrl: captureUrl, token: TYPED_TOKEN } });
    should(typed.text).not.containEql(TYPED_TOKEN);
    should(capture.requests.map((r) => r.headers.authorization)).eql([`Bearer ${TYPED_TOKEN}`]);
    // ...and the deployed config node as it is, spelled another way, still works with its own token.
    const deployed = await ask('models', {
      config: { id: 'cfg', baseUrl: `HTTP://127.0.0.1:${new URL(emulator.url).port}/v1/`, token: '__PWRD__' },
    });
    should(deployed.body).match({ ok: true, models: (m: unknown[]) => m.length > 0 });
    should(emulator.requests.map((r) => r.headers.authorization)).eql([`Bearer ${DEFAULT_TOKEN}`]);
  });

  it('asks for the token again when the URL changed, and for a token when the config node is not deployed', async () => {
    await load();
    const port = new URL(emulator.url).port;
    // Equivalent spellings use the deployed node's own token.
    const equivalent = [
      emulator.url,
      `${emulator.url}/`,
      `${emulator.url}//`,
      `HTTP://127.0.0.1:${port}/v1`,
      `http://127.0.0.1:${port}/v1/models/..`,
    ];
    for (const baseUrl of equivalent) {
      should((await ask('test', { id: 'cfg', baseUrl, token: '__PWRD__' })).body).match(
        { ok: true, account: { username: 'emulator' } },
        baseUrl,
      );
    }
    // Any other spelling is another URL, even when it reaches the same emulator.
    for (const baseUrl of [
      `http://localhost:${port}/v1`,
      `http://127.0.0.1:${port}/V1`,
      `http://127.0.0.1:${port}`,
      `https://127.0.0.1:${port}/v1`,
    ]) {
      const res = await ask('models', { config: { id: 'cfg', baseUrl, token: '__PWRD__' } });
      should(res.body).eql({
        ok: false,
        message:
          'Type the token again to use another API URL: a stored token is only sent to the API URL its Replicate account was deployed with',
      });
    }
    should((await ask('test', { id: 'new', baseUrl: emulator.url })).body).eql({
      ok: false,
      message:
        'Type the token to use a Replicate account that is not deployed: a stored or environment token is only sent to the API URL of its deployed account',
    });
    should(emulator.requests.map((r) => r.headers.authorization)).eql(Array(equivalent.length).fill(`Bearer ${DEFAULT_TOKEN}`));
    // A token typed beside the other URL may go there.
    should((await ask('test', { id: 'cfg', baseUrl: `http://localhost:${port}/v1`, token: DEFAULT_TOKEN })).body.ok).be.true();
  });

  it('compares base URLs as the client sends to them: case of scheme and host, default port, trailing slash', () => {
    should(sameBaseUrl('https://api.replicate.com/v1', 'HTTPS://API.Replicate.com:443/v1/')).be.true();
    should(sameBaseUrl('http://localhost/v1', 'http://localhost:80/v1')).be.true();
    should(sameBaseUrl('https://api.replicate.com/v1', 'https://api.replicate.com:8443/v1')).be.false();
    should(sameBaseUrl('https://api.replicate.com/v1', 'https://api.replicate.com.example.net/v1')).be.false();
    should(sameBaseUrl('https://api.replicate.com/v1', 'https://user@api.replicate.com/v1')).be.false();
    should(sameBaseUrl('https://api.replicate.com/v1', 'https://api.replicate.com/v1?x=1')).be.false();
    should(sameBaseUrl('${REPLICATE_URL}', '${REPLICATE_URL}')).be.false(); // unresolved: matches nothing
  });

  it('resolves a ${VAR} or $(VAR) base URL as the runtime does, and names the variable rather than showing its value', async () => {
    process.env.REPLICATE_TEST_URL = emulator.url;
    await load('${REPLICATE_TEST_URL}');
    for (const baseUrl of ['${REPLICATE_TEST_URL}', '$(REPLICATE_TEST_URL)']) {
      const config = { id: 'cfg', baseUrl, token: '__PWRD__' };
      should((await ask('test', config)).body).match({ ok: true, account: { username: 'emulator' } });
      should((await ask<ModelsAnswer>('models', { config, query: 'flux schnell' })).body.models[0]).match({
        ref: 'black-forest-labs/flux-schnell',
      });
      should((await ask('schema', { config, model: 'black-forest-labs/flux-schnell' })).body).match({
        ok: true,
        fields: (f: unknown[]) => f.length > 0,
      });
    }
    should(emulator.requests.every((r) => r.headers.authorization === `Bearer ${DEFAULT_TOKEN}`)).be.true();

    process.env.NOT_A_URL = 'the-value-of-a-private-variable';
    const notUrl = await ask('test', { id: 'cfg', baseUrl: '${NOT_A_URL}', token: TYPED_TOKEN });
    should(notUrl.body).match({ ok: false, message: /^The environment variable NOT_A_URL does not hold a usable API base URL/ });
    should(notUrl.text).not.containEql('private');

    const gone = await startRecorder();
    await gone.close(); // nothing listens on its port now
    const port = gone.port;
    process.env.UNREACHABLE_URL = `http://127.0.0.1:${port}/v1`;
    const unreachable = await ask('test', { id: 'cfg', baseUrl: '$(UNREACHABLE_URL)', token: TYPED_TOKEN });
    should(unreachable.body).match({
      ok: false,
      message: /^Could not reach Replicate at \$\{UNREACHABLE_URL\}: the connection was refused/,
    });
    should(unreachable.text).not.containEql(String(port));

    should((await ask('models', { config: { id: 'cfg', baseUrl: '${NEVER_SET}' } })).body).eql({
      ok: false,
      message: 'The environment variable NEVER_SET in the API base URL is not set',
    });
  });

  describe('with adminAuth: a read-only default user', function () {
    this.timeout(60_000);
    const ADMIN_KEY = 'key-of-a-user-who-may-change-config-nodes';
    let red: NodeRedProcess;
    before(async () => {
      red = await startNodeRedProcess({
        flows: [configNode('cfg', emulator.url)],
        credentials: { cfg: { token: DEFAULT_TOKEN } },
        settingsSource: `{ adminAuth: {
          type: 'credentials',
          users: [],
          default: { permissions: 'read' },
          tokenHeader: 'x-admin-key',
          tokens: (key) => Promise.resolve(key === ${JSON.stringify(ADMIN_KEY)} ? { username: 'admin', permissions: '*' } : null),
        } }`,
      });
    });
    after(async () => {
      await red?.stop();
    });

    const post = (route: string, body: object, headers: Record<string, string> = {}) =>
      fetch(`${red.url}/replicate-config/${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });

    it('lets a read-only user browse only through deployed accounts as they are; typing a token needs the right to change config nodes', async () => {
      const asIs = await post('models', { config: { id: 'cfg', baseUrl: emulator.url, token: '__PWRD__' }, query: 'flux' });
      should(asIs.status).equal(200);
      should(await asIs.json()).match({ ok: true, models: (m: unknown[]) => m.length > 0 });

      for (const config of [
        { id: 'cfg', baseUrl: captureUrl, token: TYPED_TOKEN },
        { baseUrl: captureUrl, token: TYPED_TOKEN },
        { id: 'cfg', baseUrl: captureUrl },
        { id: 'not-deployed', baseUrl: emulator.url },
      ]) {
        for (const [route, extra] of ROUTES)
          should((await post(route, { ...extra, config })).status).equal(401, `${route} ${JSON.stringify(config)}`);
      }
      should(capture.requests).eql([]);

      const admin = { 'x-admin-key': ADMIN_KEY };
      const retype = await post('models', { config: { id: 'cfg', baseUrl: captureUrl } }, admin);
      should(await retype.json()).match({ ok: false, message: /^Type the token again to use another API URL/ });
      await post('models', { config: { id: 'cfg', baseUrl: captureUrl, token: TYPED_TOKEN } }, admin);
      should(capture.requests.map((r) => r.headers.authorization)).eql([`Bearer ${TYPED_TOKEN}`]);
    });
  });
});
