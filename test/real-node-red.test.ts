// The prediction completed node inside a real Node-RED process, laid out as users run it: the
// admin API at the root path, so its JSON parser sees every request first, and httpNode at the
// root or under its own httpNodeRoot, with or without httpNodeAuth. The signature must still be
// checked over the bytes Replicate sent, for every request Express routes to that node: paths in
// any case, with a trailing slash, under the prefix. Every request has a client timeout: a hang
// fails the test.
import should from 'should';
import { signWebhook } from '../emulator';
import { resolveNodeRed, startNodeRedProcess, type NodeRedProcess } from './support/node-red-host';

const SECRET = 'whsec_' + Buffer.from('a signing key of thirty-two bytes').toString('base64');
const WRONG_SECRET = 'whsec_' + Buffer.from('not the right key at all').toString('base64');
const CLIENT_TIMEOUT_MS = 10_000;

/** One Node-RED process for the enclosing describe, with one prediction completed node on /replicate/completed wired to a debug node. */
function realNodeRed(settings: Record<string, unknown> = {}) {
  let red: NodeRedProcess | undefined;

  before(async function () {
    this.timeout(60_000);
    red = await startNodeRedProcess({
      flows: [
        { id: 'tab', type: 'tab', label: 'webhook' },
        { id: 'cfg', type: 'replicate-config', name: 'account', baseUrl: 'https://api.replicate.com/v1' },
        {
          id: 'completed',
          type: 'replicate-prediction-completed',
          z: 'tab',
          x: 100,
          y: 100,
          replicate: 'cfg',
          url: '/replicate/completed',
          wires: [['out']],
        },
        {
          id: 'out',
          type: 'debug',
          z: 'tab',
          x: 300,
          y: 100,
          name: 'done',
          active: true,
          tosidebar: false,
          console: true,
          complete: 'predictionId',
          targetType: 'msg',
          wires: [],
        },
      ],
      credentials: { cfg: { token: 'r8_unused', webhookSecret: SECRET } },
      settings,
    });
  });

  after(() => red?.stop());

  return {
    get base() {
      return red!.url;
    },
    get output() {
      return red!.output();
    },
  };
}

let deliveries = 0;
/** A prediction body with an id of its own, with spacing a JSON parser and re-serializer would not keep. */
const body = (id = `realnoderedtest${String(++deliveries).padStart(4, '0')}`) => ({
  id,
  text: `{ "id": "${id}", "status": "succeeded",  "output": ["https://replicate.delivery/x.png"] }`,
});

function deliver(url: string, text: string, { secret = SECRET, headers = {} }: { secret?: string; headers?: Record<string, string> } = {}) {
  const id = `msg_${Math.random().toString(36).slice(2)}`;
  const timestamp = Math.floor(Date.now() / 1000);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(secret, id, timestamp, text),
      ...headers,
    },
    body: text,
    signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
  });
}

async function shownInDebug(state: { output: string }, id: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!state.output.includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  should(state.output).match(new RegExp(`\\[debug:done\\][\\s\\S]*${id}`));
}

describe('the prediction completed node in a real Node-RED, admin API and httpNode both at /', function () {
  this.timeout(30_000);
  const nodeRed = realNodeRed();

  it('verifies a JSON delivery over its raw bytes and continues the flow', async () => {
    const { id, text } = body();
    should((await deliver(`${nodeRed.base}/replicate/completed`, text)).status).equal(200);
    await shownInDebug(nodeRed, id);
  });

  it('verifies deliveries to the path in other case or with a trailing slash, as Express routes them', async () => {
    for (const route of ['/REPLICATE/completed', '/Replicate/Completed/', '/replicate/completed/?x=1']) {
      const { id, text } = body();
      const res = await deliver(`${nodeRed.base}${route}`, text);
      should(res.status).equal(200, `POST ${route}: ${await res.text()}`);
      await shownInDebug(nodeRed, id);
    }
  });

  it('still refuses a forged delivery, malformed JSON and an oversized body', async () => {
    const url = `${nodeRed.base}/replicate/completed`;
    should((await deliver(url, '{"id": "forged00000001", "status": "succeeded"}', { secret: WRONG_SECRET })).status).equal(401);
    should((await deliver(url, '{"id": ')).status).equal(400);
    should((await deliver(url, JSON.stringify({ id: 'huge', status: 'succeeded', logs: 'x'.repeat(6 * 1024 * 1024) }))).status).equal(413);
    should(nodeRed.output).not.containEql('forged00000001');
  });
});

describe('the prediction completed node in a real Node-RED set to German (settings.lang)', function () {
  this.timeout(30_000);
  const nodeRed = realNodeRed({ lang: 'de' });

  it("answers the sender in German, through Node-RED's own message catalogs", async () => {
    const url = `${nodeRed.base}/replicate/completed`;
    const forged = await deliver(url, '{"id": "forged00000002", "status": "succeeded"}', { secret: WRONG_SECRET });
    should(forged.status).equal(401);
    should(await forged.text()).equal('Die Webhook-Signatur fehlt oder stimmt nicht');
    const malformed = await deliver(url, '{"id": ');
    should(malformed.status).equal(400);
    should(await malformed.text()).equal('Der Inhalt ist kein gültiges JSON');
  });
});

describe('the prediction completed node in a real Node-RED, httpNode under /hooks with httpNodeAuth', function () {
  this.timeout(30_000);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bcryptjs of the Node-RED under test, found at run time
  const bcrypt = require(resolveNodeRed('bcryptjs')) as { hashSync(password: string, rounds: number): string };
  const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`replicate:${password}`).toString('base64')}` });
  const nodeRed = realNodeRed({ httpNodeRoot: '/hooks', httpNodeAuth: { user: 'replicate', pass: bcrypt.hashSync('p4ss', 8) } });

  it('verifies a delivery under the prefix, in any case, with the right basic credentials', async () => {
    for (const route of ['/hooks/replicate/completed', '/HOOKS/Replicate/Completed/']) {
      const { id, text } = body();
      const res = await deliver(`${nodeRed.base}${route}`, text, { headers: basic('p4ss') });
      should(res.status).equal(200, `POST ${route}: ${await res.text()}`);
      await shownInDebug(nodeRed, id);
    }
  });

  it('refuses a signed delivery without the right credentials with 401, emitting nothing', async () => {
    const { id, text } = body();
    should((await deliver(`${nodeRed.base}/hooks/replicate/completed`, text)).status).equal(401);
    should((await deliver(`${nodeRed.base}/hooks/replicate/completed`, text, { headers: basic('wrong') })).status).equal(401);
    await new Promise((r) => setTimeout(r, 200));
    should(nodeRed.output).not.containEql(id);
  });
});
