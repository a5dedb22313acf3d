// The prediction completed node: a verified webhook endpoint. Deliveries are made the way
// Replicate makes them (the emulator's signing), then tampered with in the ways an attacker or a
// flaky network would.
import http from 'http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import should from 'should';
import { DEFAULT_TOKEN } from '../emulator';
import type { Node } from 'node-red';
import { sentCreate, signedHeaders } from './emulator-support/wire';
import { nodeRedWithEmulator, type PredictionMsg } from './support/harness';
import {
  configNode,
  createToCompletedFlow,
  everythingShown,
  helper,
  httpNode,
  message,
  nodeModules,
  received,
  resolveNodeRed,
  serveHttpNode,
  statusesOf,
} from './support/node-red';

const PATH = '/replicate/completed';
const SECRET = 'whsec_' + Buffer.from('a signing key of thirty-two bytes').toString('base64');
const OTHER_SECRET = 'whsec_' + Buffer.from('somebody else entirely, 32 bytes').toString('base64');

function prediction(status = 'succeeded', extra: Record<string, unknown> = {}) {
  return {
    id: 'p' + Math.random().toString(36).slice(2, 14).padEnd(12, '0'),
    model: 'black-forest-labs/flux-schnell',
    version: 'hidden',
    input: { prompt: 'a cat' },
    output: status === 'succeeded' ? ['https://replicate.delivery/out-0.webp'] : null,
    error: status === 'failed' ? 'CUDA out of memory' : null,
    logs: '',
    status,
    created_at: '2026-11-23T10:00:00.000Z',
    urls: {
      get: 'https://api.replicate.com/v1/predictions/x',
      cancel: 'https://api.replicate.com/v1/predictions/x/cancel',
      web: 'https://replicate.com/p/x',
    },
    ...extra,
  };
}

function signed(body: string, { secret = SECRET, id, timestamp }: { secret?: string; id?: string; timestamp?: number } = {}) {
  return signedHeaders(body, secret, { id, timestamp });
}

describe('replicate-prediction-completed', () => {
  const nr = nodeRedWithEmulator();
  const completedNode = (props: Record<string, unknown> = {}, options: Parameters<typeof nr.load>[1] = {}) =>
    nr.load({ type: 'replicate-prediction-completed', url: PATH, ...props }, { webhookSecret: SECRET, ...options });
  const post = (body: string, headers: Record<string, string>, path = PATH) => httpNode().post(path).set(headers).send(body);
  /** Counts what a node emits, to prove that nothing came. */
  const counting = (node: Node) => received<PredictionMsg>(node);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

  it('emits a verified delivery, answering before the flow runs', async () => {
    const flow = await completedNode();
    const p = prediction();
    const body = JSON.stringify(p);
    const headers = signed(body);
    const out = flow.next();
    const res = await post(body, headers);
    should(res.status).equal(200);
    const msg = await out;
    should(msg.payload).eql(p); // as Replicate sent it
    should(msg).match({
      predictionId: p.id,
      status: 'succeeded',
      webhook: { id: headers['webhook-id'], timestamp: Number(headers['webhook-timestamp']) },
    });
    should(statusesOf(flow.node).at(-1)).eql({ fill: 'green', shape: 'dot', text: 'succeeded (1)' });
  });

  it('accepts a signature list in which any one entry matches', async () => {
    const flow = await completedNode();
    const body = JSON.stringify(prediction());
    const headers = signed(body);
    const forged = signed(body, { secret: OTHER_SECRET, id: headers['webhook-id'], timestamp: Number(headers['webhook-timestamp']) });
    headers['webhook-signature'] = `v1,bm90IGEgc2lnbmF0dXJl ${forged['webhook-signature']} ${headers['webhook-signature']}`;
    const out = flow.next();
    should((await post(body, headers)).status).equal(200);
    await out;
  });

  it('refuses forged, tampered, stale and unsigned deliveries with 401, emitting nothing', async () => {
    const flow = await completedNode();
    const emitted = counting(flow.outputs[0]);
    const body = JSON.stringify(prediction());
    const tamperedBody = body.replace('a cat', 'a dog');

    const forged = await post(body, signed(body, { secret: OTHER_SECRET }));
    should(forged.status).equal(401);
    should(forged.text).equal('The webhook signature is missing or does not match');
    should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'bad signature' });

    should((await post(tamperedBody, signed(body))).status).equal(401);

    const stale = await post(body, signed(body, { timestamp: Math.floor(Date.now() / 1000) - 301 }));
    should(stale.status).equal(401);
    should(stale.text).match(/timestamp is too old/);
    should((await post(body, signed(body, { timestamp: Math.floor(Date.now() / 1000) + 400 }))).status).equal(401);

    const headers = signed(body);
    for (const missing of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const partial: Record<string, string> = { ...headers };
      delete partial[missing];
      should((await post(body, partial)).status).equal(401);
    }
    await settle();
    should(emitted).have.length(0);
  });

  it('answers 400 for malformed JSON or a body that is not a prediction, 413 for an oversized body', async () => {
    const flow = await completedNode();
    const emitted = counting(flow.outputs[0]);
    const broken = '{"id": "abc", "status": ';
    should((await post(broken, signed(broken))).status).equal(400);
    const notPrediction = JSON.stringify({ hello: 'world' });
    should((await post(notPrediction, signed(notPrediction))).status).equal(400);
    const huge = JSON.stringify(prediction('succeeded', { logs: 'x'.repeat(6 * 1024 * 1024) }));
    const res = await post(huge, signed(huge));
    should(res.status).equal(413);
    should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'body too large' });
    await settle();
    should(emitted).have.length(0);
  });

  it('emits a repeated or reordered delivery once, acknowledging every copy', async () => {
    const flow = await completedNode({ progress: true }, { outputs: 2 });
    const finished = counting(flow.outputs[0]);
    const progress = counting(flow.outputs[1]!);
    const p = prediction();
    const body = JSON.stringify(p);
    const headers = signed(body);
    should((await post(body, headers)).status).equal(200);
    should((await post(body, headers)).status).equal(200); // same webhook-id again
    should((await post(body, signed(body))).status).equal(200); // a new delivery of a prediction already reported
    const late = JSON.stringify({ ...p, status: 'processing' }); // an earlier event arriving late
    should((await post(late, signed(late))).status).equal(200);
    await settle();
    should(finished).have.length(1);
    should(progress).have.length(0);
  });

  it('acknowledges non-terminal events, and sends them to a second output when asked', async () => {
    let flow = await completedNode();
    let emitted = counting(flow.outputs[0]);
    const started = JSON.stringify(prediction('starting'));
    should((await post(started, signed(started))).status).equal(200);
    await settle();
    should(emitted).have.length(0);

    await helper.unload();
    flow = await completedNode({ progress: true }, { outputs: 2 });
    emitted = counting(flow.outputs[0]);
    const progress = flow.next(1);
    const processing = JSON.stringify(prediction('processing', { logs: '50% done' }));
    should((await post(processing, signed(processing))).status).equal(200);
    should((await progress).status).equal('processing');
    should(emitted).have.length(0);
  });

  it('emits only the chosen outcomes and models', async () => {
    const flow = await completedNode({ outcomes: ['failed'], models: 'black-forest-labs/flux-schnell, owner/other' });
    const emitted = counting(flow.outputs[0]);
    for (const p of [prediction('succeeded'), prediction('failed', { model: 'someone/else' }), prediction('failed')]) {
      const body = JSON.stringify(p);
      should((await post(body, signed(body))).status).equal(200);
    }
    await settle();
    should(emitted.map((m) => [m.status, m.payload.model])).eql([['failed', 'black-forest-labs/flux-schnell']]);
  });

  it('fetches the signing secret with the token once, and again once when it was rotated', async () => {
    const account = nr.emulator.account();
    const secretFetches = () => nr.emulator.requests.filter((r) => r.path === '/v1/webhooks/default/secret').length;
    const flow = await completedNode({}, { webhookSecret: '' });
    const emitted = counting(flow.outputs[0]);
    for (let i = 0; i < 3; i++) {
      const body = JSON.stringify(prediction());
      should((await post(body, signed(body, { secret: account.webhookSecret }))).status).equal(200);
    }
    should(secretFetches()).equal(1);

    const rotated = nr.emulator.rotateWebhookSecret();
    const body = JSON.stringify(prediction());
    should((await post(body, signed(body, { secret: rotated }))).status).equal(200);
    should(secretFetches()).equal(2);
    // a forgery right after does not make it fetch again
    should((await post(body, signed(body, { secret: OTHER_SECRET }))).status).equal(401);
    should(secretFetches()).equal(2);
    await settle();
    should(emitted).have.length(4);
  });

  it('checks a shared secret from basic credentials or ?token=, alone or with the signature', async () => {
    const shared = 'correct horse battery staple';
    const flow = await completedNode({ auth: 'secret' }, { credentials: { sharedSecret: shared } });
    const emitted = counting(flow.outputs[0]);
    const body = JSON.stringify(prediction());
    const basic = (password: string) => `Basic ${Buffer.from(`replicate:${password}`).toString('base64')}`;
    should((await post(body, { 'content-type': 'application/json', authorization: basic(shared) })).status).equal(200);
    should(
      (await post(JSON.stringify(prediction()), { 'content-type': 'application/json' }, `${PATH}?token=${encodeURIComponent(shared)}`))
        .status,
    ).equal(200);
    should((await post(body, { 'content-type': 'application/json', authorization: basic('wrong') })).status).equal(401);
    should((await post(body, { 'content-type': 'application/json' }, `${PATH}?token=wrong`)).status).equal(401);
    should((await post(body, { 'content-type': 'application/json' })).status).equal(401);
    await settle();
    should(emitted).have.length(2);

    await helper.unload();
    await completedNode({ auth: 'both' }, { credentials: { sharedSecret: shared } });
    const p = JSON.stringify(prediction());
    should((await post(p, { ...signed(p), authorization: basic('wrong') })).status).equal(401);
    should((await post(p, { 'content-type': 'application/json', authorization: basic(shared) })).status).equal(401);
    should((await post(p, { ...signed(p), authorization: basic(shared) })).status).equal(200);
  });

  it('removes its route on redeploy, and refuses a path another node already answers', async () => {
    await completedNode();
    const body = JSON.stringify(prediction());
    should((await post(body, signed(body))).status).equal(200);
    await helper.clearFlows();
    should((await post(body, signed(body))).status).equal(404);

    await helper.unload();
    await helper.load(
      nodeModules(),
      [
        configNode('cfg', nr.emulator.url),
        { id: 'first', type: 'replicate-prediction-completed', replicate: 'cfg', url: PATH, wires: [[]] },
        { id: 'second', type: 'replicate-prediction-completed', replicate: 'cfg', url: PATH, wires: [[]] },
      ],
      { cfg: { token: DEFAULT_TOKEN, webhookSecret: SECRET } },
    );
    const [first, second] = [helper.getNode('first'), helper.getNode('second')];
    const statuses = [statusesOf(first).at(-1)?.text, statusesOf(second).at(-1)?.text];
    should(statuses.sort()).eql(['listening', 'path in use']);
    should(JSON.stringify(helper.log().args)).match(/Another node already answers POST \/replicate\/completed/);
  });

  it('refuses a path that differs only in case or a trailing slash: Express would route both to one node', async () => {
    await helper.load(
      nodeModules(),
      [
        configNode('cfg', nr.emulator.url),
        { id: 'first', type: 'replicate-prediction-completed', replicate: 'cfg', url: PATH, wires: [[]] },
        { id: 'second', type: 'replicate-prediction-completed', replicate: 'cfg', url: '/Replicate/Completed/', wires: [[]] },
      ],
      { cfg: { token: DEFAULT_TOKEN, webhookSecret: SECRET } },
    );
    const statuses = [statusesOf(helper.getNode('first')).at(-1)?.text, statusesOf(helper.getNode('second')).at(-1)?.text];
    should(statuses.sort()).eql(['listening', 'path in use']);
    should(JSON.stringify(helper.log().args)).match(/Another node already answers POST/);
  });

  it('refuses a restore list naming a property the prediction fills, saying which', async () => {
    const flow = await completedNode({ correlate: 'topic, msg.payload.prompt, status' });
    should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'invalid settings' });
    should(JSON.stringify(helper.log().args)).match(/Settings: Restore may not name payload\.prompt, status/);
    const body = JSON.stringify(prediction());
    should((await post(body, signed(body))).status).equal(404);
  });

  it('answers 400 at once when a middleware in front of it already read the body, rather than wait for it forever', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the express of the Node-RED under test, found at run time
    const express = require(resolveNodeRed('express')) as { json(): RequestHandler };
    helper.settings({ httpNodeMiddleware: express.json() });
    try {
      const flow = await completedNode();
      const emitted = counting(flow.outputs[0]);
      const body = JSON.stringify(prediction());
      const res = await post(body, signed(body)).timeout(5000);
      should(res.status).equal(400);
      should(res.text).match(/already read by another middleware/);
      should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'body already read' });
      await settle();
      should(emitted).have.length(0);
    } finally {
      helper.settings({});
    }
  });

  describe('with a deadline for each delivery', () => {
    let server: Awaited<ReturnType<typeof serveHttpNode>>;
    before(async () => {
      server = await serveHttpNode();
      helper.settings({ replicatePredictionCompletedTimeout: 300 }); // settings.js, in ms
    });
    after(async () => {
      helper.settings({});
      await server.close();
    });

    /** A signed delivery of which only the first bytes are sent; resolves with the answer and its text. */
    const stalled = () =>
      new Promise<{ status?: number; connection?: string; text: string }>((resolve, reject) => {
        const body = JSON.stringify(prediction());
        const req = http.request(
          `${server.url}${PATH}`,
          { method: 'POST', headers: { ...signed(body), 'content-length': String(body.length) }, timeout: 10_000 },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, text }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error('no answer: the delivery was left hanging')));
        req.on('error', reject);
        req.write(body.slice(0, 20)); // and the rest never comes
      });

    it('answers 408 and closes the connection when the body stalls', async () => {
      const flow = await completedNode();
      should(await stalled()).eql({ status: 408, connection: 'close', text: 'The body did not arrive in time' });
      should(statusesOf(flow.node).at(-1)).eql({ fill: 'yellow', shape: 'ring', text: 'timed out' });
    });

    it('answers a delivery still open when the node closes with 503', async () => {
      helper.settings({}); // the usual 30 s
      try {
        await completedNode();
        const answer = stalled();
        await settle(); // the request reaches the node
        await helper.clearFlows();
        should(await answer).eql({ status: 503, connection: 'close', text: 'This endpoint was stopped; try again later' });
      } finally {
        helper.settings({ replicatePredictionCompletedTimeout: 300 });
      }
    });

    it('answers 503 when fetching the signing secret outlasts it, emits the delivery once verified, and acknowledges the next copy', async () => {
      const account = nr.emulator.account();
      nr.emulator.fault({ match: { path: '/webhooks/default/secret' }, type: 'delay', ms: 1000 });
      const flow = await completedNode({}, { webhookSecret: '' });
      const emitted = counting(flow.outputs[0]);
      const p = prediction();
      const body = JSON.stringify(p);
      const headers = signed(body, { secret: account.webhookSecret });
      const out = flow.next();
      const res = await post(body, headers).timeout(5000);
      should(res.status).equal(503);
      should(res.text).equal('The delivery could not be verified in time; try again later');
      should((await out).predictionId).equal(p.id);
      should((await post(body, headers)).status).equal(200); // Replicate delivers again after a 503
      await settle();
      should(emitted).have.length(1);
    });
  });

  it('never lets the shared secret into a message, and refuses a prediction completed node without one', async () => {
    const flow = await completedNode({ auth: 'secret' });
    should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'invalid settings' });
    should((await post('{}', { 'content-type': 'application/json' })).status).equal(404);
  });

  describe('with a create node that names it as its webhook', () => {
    let server: Awaited<ReturnType<typeof serveHttpNode>>;
    before(async () => {
      server = await serveHttpNode();
    });
    after(() => server.close());

    const flowWith = (
      completedProps: Record<string, unknown> = {},
      credentials: Record<string, object> = {},
      webhookBaseUrl = server.url,
    ) =>
      helper.load(
        nodeModules(),
        createToCompletedFlow(nr.emulator.url, {
          config: { webhookBaseUrl, z: 'tab' },
          create: { model: 'black-forest-labs/flux-schnell', webhookEvents: [] },
          completed: { url: PATH, correlate: 'topic, job.id', ...completedProps },
        }),
        { cfg: { token: DEFAULT_TOKEN }, ...credentials },
      );

    it('restores the original message properties when the prediction completes', async () => {
      await flowWith();
      const done = message<PredictionMsg>(helper.getNode('done'));
      const created = message<PredictionMsg>(helper.getNode('created'));
      helper
        .getNode('create')
        .receive({ payload: { prompt: 'a cat' }, topic: 'order-42', job: { id: 7, secretNotKept: true }, other: 'dropped' });
      const createdMsg = await created;
      const request = nr.emulator.requests.find((r) => r.method === 'POST')!;
      const sent = sentCreate(request);
      should(sent.webhook).startWith(`${server.url}${PATH}?correlation=c`);
      should(sent.webhook_events_filter).eql(['completed']);
      const msg = await done;
      should(msg).match({ predictionId: createdMsg.predictionId, status: 'succeeded', topic: 'order-42', job: { id: 7 } });
      should(msg.job).not.have.property('secretNotKept');
      should(msg).not.have.property('other');
      should(msg.payload.output).not.be.null();
      // the entry is gone once used
      const kept = helper.getNode('completed').context().global.get('replicateCorrelations');
      should(Object.keys(kept ?? {})).have.length(0);
    });

    it('gives Replicate the user and password of the Public URL (httpNodeAuth), and shows the password to nobody', async () => {
      const expected = `Basic ${Buffer.from('u:p4ss').toString('base64')}`;
      // stands in for httpNodeAuth, which the test helper does not apply
      const basicAuth = (req: Request, res: Response, next: NextFunction) =>
        req.headers.authorization === expected ? next() : res.status(401).end();
      helper.settings({ httpNodeMiddleware: basicAuth });
      try {
        const publicUrl = server.url.replace('http://', 'http://u:p4ss@');
        await flowWith({}, {}, publicUrl);
        const done = message<PredictionMsg>(helper.getNode('done'));
        const created = message<PredictionMsg>(helper.getNode('created'));
        helper.getNode('create').receive({ payload: { prompt: 'a cat' }, topic: 'order-42' });
        const createdMsg = await created;
        const msg = await done; // delivered past the credentials check
        const sent = sentCreate(nr.emulator.requests.find((r) => r.method === 'POST')!);
        should(sent.webhook).startWith(`${publicUrl}${PATH}?correlation=c`);
        await nr.emulator.webhooks.idle();
        const delivery = nr.emulator.webhooks.deliveries.find((d) => d.predictionId === createdMsg.predictionId);
        should(delivery).match({ status: 200, headers: { authorization: expected } });
        should(delivery!.url).equal(sent.webhook);
        should(createdMsg.payload.webhook).equal(sent.webhook?.replace('u:p4ss@', 'u:***@'));
        should(msg).match({ topic: 'order-42', payload: { webhook: createdMsg.payload.webhook } });
        should(JSON.stringify([createdMsg, msg])).not.containEql('p4ss');
        should(everythingShown()).not.containEql('p4ss');
      } finally {
        helper.settings({});
      }
    });

    it('builds a URL with a token for this prediction only in shared-secret mode, never the secret itself', async () => {
      const shared = 'the shared secret';
      await flowWith({ auth: 'secret' }, { completed: { sharedSecret: shared } });
      const done = message<PredictionMsg>(helper.getNode('done'));
      const created = message<PredictionMsg>(helper.getNode('created'));
      helper.getNode('create').receive({ payload: { prompt: 'a cat' }, topic: 't' });
      const createdMsg = await created;
      const msg = await done;
      should(msg.topic).equal('t');
      const url = new URL(String(createdMsg.payload.webhook));
      should(url.searchParams.get('token')).be.a.String().and.not.equal(shared);
      should(JSON.stringify([createdMsg, msg])).not.containEql(shared);
    });
  });
});
