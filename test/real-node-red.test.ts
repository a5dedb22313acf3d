// The prediction completed node inside a real Node-RED process, laid out as users run it: the
// admin API at the root path, so its JSON parser sees every request first, and httpNode at the
// root or under its own httpNodeRoot, with or without httpNodeAuth. The signature must still be
// checked over the bytes Replicate sent, for every request Express routes to that node: paths in
// any case, with a trailing slash, under the prefix. Every request has a client timeout: a hang
// fails the test.
import net from 'node:net';
import should from 'should';
import { signWebhook } from '../emulator';
import { resolveNodeRed, startNodeRedProcess, type NodeRedProcess } from './support/node-red-host';

const SECRET = 'whsec_' + Buffer.from('a signing key of thirty-two bytes').toString('base64');
const WRONG_SECRET = 'whsec_' + Buffer.from('not the right key at all').toString('base64');
const CLIENT_TIMEOUT_MS = 10_000;

/**
 * A node file that answers GET /test/memory on the admin API with the process's memory after a
 * full garbage collection, so a test can see what Node-RED holds.
 */
const MEMORY_PROBE = {
  'test-memory.js': `module.exports = function (RED) {
  require('v8').setFlagsFromString('--expose-gc');
  const gc = require('vm').runInNewContext('gc');
  RED.httpAdmin.get('/test/memory', (req, res) => {
    gc();
    res.json(process.memoryUsage());
  });
  RED.nodes.registerType('test-memory', function (config) { RED.nodes.createNode(this, config); });
};
`,
  'test-memory.html': `<script type="text/javascript">
  RED.nodes.registerType('test-memory', { category: 'function', defaults: {}, inputs: 0, outputs: 0 });
</script>
`,
};

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
      nodeFiles: MEMORY_PROBE,
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

describe('the prediction completed node in a real Node-RED, httpNode with httpNodeAuth, against slow senders', function () {
  this.timeout(60_000);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bcryptjs of the Node-RED under test, found at run time
  const bcrypt = require(resolveNodeRed('bcryptjs')) as { hashSync(password: string, rounds: number): string };
  const AUTHORIZED = `Basic ${Buffer.from('replicate:p4ss').toString('base64')}`;
  const DEADLINE_MS = 5000;
  const nodeRed = realNodeRed({
    httpNodeAuth: { user: 'replicate', pass: bcrypt.hashSync('p4ss', 8) },
    replicatePredictionCompletedTimeout: DEADLINE_MS,
  });

  /** What Node-RED holds after a full collection: heap and Buffers. */
  const held = async () => {
    const res = await fetch(`${nodeRed.base}/test/memory`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    const usage = (await res.json()) as { external: number; heapUsed: number };
    return usage.external + usage.heapUsed;
  };
  /** The least of three looks 200 ms apart: bytes still on their way through the socket for a moment are not held. */
  const steadilyHeld = async () => {
    const looks: number[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200));
      looks.push(await held());
    }
    return Math.min(...looks);
  };

  interface Sender {
    /** The status of the answer, once one came. */
    status?: number;
    /** When the server closed the connection, in ms after the sender started. */
    closedAfterMs?: number;
    /** Resolves once the first bytes of the body are written out. */
    sent: Promise<void>;
    closed: Promise<void>;
    stop(): void;
  }

  /** A POST announcing a 5 MB body that sends `firstBytes` of it at once, then 1 KiB every 100 ms, until the server closes. */
  function slowSender(url: URL, firstBytes: number, headers: Record<string, string> = {}): Sender {
    const started = Date.now();
    const socket = net.connect(Number(url.port), url.hostname);
    let trickle: NodeJS.Timeout | undefined;
    let answer = '';
    const sender: Partial<Sender> = {};
    sender.sent = new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      const head = [
        `POST ${url.pathname} HTTP/1.1`,
        `Host: ${url.host}`,
        'Content-Type: application/json',
        `Content-Length: ${5 * 1024 * 1024}`,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ].join('\r\n');
      socket.write(`${head}\r\n\r\n`);
      socket.write(Buffer.alloc(firstBytes, 0x20), () => resolve());
    });
    sender.sent.catch(() => undefined);
    trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(Buffer.alloc(1024, 0x20), () => undefined);
    }, 100);
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      sender.status ??= Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]) || undefined;
    });
    socket.on('error', () => undefined); // a reset is a close too
    sender.closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        clearInterval(trickle);
        trickle = undefined;
        sender.closedAfterMs = Date.now() - started;
        resolve();
      }),
    );
    sender.stop = () => {
      clearInterval(trickle);
      socket.destroy();
    };
    return sender as Sender;
  }

  it('answers 50 slow unauthenticated bodies 401 without keeping their bytes, and closes them at the deadline; a slow authorized one gets 408', async () => {
    const url = new URL(`${nodeRed.base}/replicate/completed`);
    const baseline = await steadilyHeld();
    const started = Date.now();
    const senders = Array.from({ length: 50 }, () => slowSender(url, 512 * 1024));
    const authorized = slowSender(url, 1024, { authorization: AUTHORIZED });
    try {
      await Promise.all([...senders, authorized].map((sender) => sender.sent));
      // every refusal has gone out, and what was sent has arrived
      for (let waited = 0; senders.some((sender) => sender.status === undefined) && waited < 10_000; waited += 50)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      // 50 x 512 KiB = 25 MiB sent: none of it is kept once httpNodeAuth has answered
      const growth = (await steadilyHeld()) - baseline;
      should(Date.now() - started).be.below(DEADLINE_MS, 'measured after the deadline, when the connections are gone anyway');
      should(growth).be.below(8 * 1024 * 1024, `Node-RED holds ${Math.round(growth / 1024)} KiB of refused bodies`);
      await Promise.race([
        Promise.all([...senders, authorized].map((sender) => sender.closed)),
        new Promise((r) => setTimeout(r, DEADLINE_MS + 10_000)),
      ]);
      should(senders.map((sender) => sender.status)).matchEach(401);
      const open = senders.filter((sender) => sender.closedAfterMs === undefined).length;
      should(open).equal(0, `${open} of 50 connections still open ${DEADLINE_MS + 10_000} ms after they started`);
      for (const sender of senders) should(sender.closedAfterMs).be.within(DEADLINE_MS - 100, DEADLINE_MS + 8000);
      should(authorized.status).equal(408);
      should(authorized.closedAfterMs).be.within(DEADLINE_MS - 100, DEADLINE_MS + 8000);
    } finally {
      for (const sender of [...senders, authorized]) sender.stop();
    }
  });
});
