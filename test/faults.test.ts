// The fault suite: the nodes against the emulator's fault injection (429 storms, bursts of 5xx,
// connection resets, answers slower than the timeout, malformed JSON), a redeploy in the middle
// of polling, and Node-RED stopped with predictions in flight. What users would see is asserted:
// every message ends in exactly one output or one Catch-able error, no prediction is created or
// sent on twice (a create is never resent once it may have reached Replicate), no promise
// rejection goes unhandled, and no timer or socket is left behind when the flows stop.
import should from 'should';
import { DEFAULT_TOKEN } from '../emulator';
import { nodeRedWithEmulator, UNDER_TEST, type ModelsMsg } from './support/harness';
import { configNode, createToCompletedFlow, helper, loggedBy, nodeModules, serveHttpNode, statusesOf } from './support/node-red';
import { activeResources, assertBackTo, handlesSettled, Ledger, watchUnhandledRejections } from './support/outcomes';

const OFFICIAL = 'black-forest-labs/flux-schnell';
const CREATE_PATH = `/v1/models/${OFFICIAL}/predictions`;
/** Polls only: the create node's own look-ups (a model's input schema) are not what these faults are about. */
const POLL = { method: 'GET', path: /^\/predictions\// };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults: what users see when Replicate or the network misbehaves', function () {
  this.timeout(30_000);
  const nr = nodeRedWithEmulator();
  const rejections = watchUnhandledRejections();
  beforeEach(() => nr.emulator.reset());
  afterEach(() => rejections.assertNone());

  const requests = (method: string) => nr.emulator.requests.filter((r) => r.method === method);
  const createPosts = () => nr.emulator.requests.filter((r) => r.method === 'POST' && r.path === CREATE_PATH);
  /** How many create requests carried each message's input (its prompt names its seq). */
  const postsPerMessage = () => {
    const per = new Map<string, number>();
    for (const r of createPosts()) {
      const prompt = (JSON.parse(r.body) as { input: { prompt: string } }).input.prompt;
      per.set(prompt, (per.get(prompt) ?? 0) + 1);
    }
    return per;
  };
  const predictionsCreated = () => Object.values(nr.emulator.stats().predictions).reduce((a, b) => a + b, 0);

  /** Starts a prediction straight on the emulator, as another flow or system would have. */
  async function started(): Promise<string> {
    const res = await fetch(`${nr.emulator.url}/models/${OFFICIAL}/predictions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt: 'started elsewhere' } }),
    });
    return ((await res.json()) as { id: string }).id;
  }

  const create = (props: Record<string, unknown> = {}, config: Record<string, unknown> = {}) =>
    nr.load({ type: 'replicate-create-prediction', model: OFFICIAL, input: '{"prompt":"a cat"}', ...props }, { config });
  const waitingGet = (props: Record<string, unknown> = {}, config: Record<string, unknown> = {}) =>
    nr.load({ type: 'replicate-get-prediction', waitForCompletion: true, pollInterval: 0.1, maxPolls: 100, ...props }, { config });
  const sendAll = (flow: { send(msg: Record<string, unknown>): void }, count: number, msg: (seq: number) => Record<string, unknown>) => {
    for (let seq = 0; seq < count; seq++) flow.send({ seq, ...msg(seq) });
  };

  describe('429 storms', () => {
    it('creates wait out a storm of 429s: each message ends once and each prediction is created once', async () => {
      const N = 25;
      const STORM = 40;
      nr.emulator.fault({ match: { method: 'POST' }, type: 'rate-limit', retryAfterSeconds: 0, times: STORM });
      // The storm is Replicate's, not the client's own pacing; retries enough that no message runs out.
      const flow = await create({}, { createRateLimit: 6000, maxRetries: 10 });
      const ledger = new Ledger(flow);
      sendAll(flow, N, (seq) => ({ payload: { prompt: `job ${seq}` } }));
      await ledger.settled(N);
      ledger.assertEachOnce(N);
      // A 429 means Replicate did not act: resending is allowed and needed, and it never doubles a prediction.
      should(ledger.errors.map((e) => e.msg.error.message)).eql([]);
      should(createPosts()).have.length(STORM + ledger.outputs.length);
      should(predictionsCreated()).equal(ledger.outputs.length);
      for (const out of ledger.outputs) should(out.msg.payload.input?.prompt).equal(`job ${out.msg.seq}`);
    });

    it('polls ride out a storm of 429s in all three forms, each waiting message getting its result once', async () => {
      const ids = await Promise.all(Array.from({ length: 12 }, () => started()));
      for (const via of ['header', 'body', 'detail'] as const) {
        nr.emulator.fault({ match: POLL, type: 'rate-limit', retryAfterSeconds: 0, via, times: 8 });
      }
      const flow = await waitingGet({}, { maxRetries: 10 });
      const ledger = new Ledger(flow);
      sendAll(flow, ids.length, (seq) => ({ predictionId: ids[seq] }));
      await ledger.settled(ids.length);
      ledger.assertEachOnce(ids.length);
      should(ledger.outputs.map((o) => o.msg.predictionId)).containDeep(ids);
      should(ledger.outputs.every((o) => o.msg.status === 'succeeded')).be.true();
      should(nr.emulator.stats().faultsFired).equal(24);
    });
  });

  describe('bursts of 5xx', () => {
    it('never resends a create after a 5xx: one request per message, one Catch-able error saying it may exist', async () => {
      const N = 12;
      nr.emulator.fault({ match: { method: 'POST' }, type: 'status', status: 500, process: true, times: 4 }); // created, then 500
      nr.emulator.fault({ match: { method: 'POST' }, type: 'status', status: 503, times: 3 }); // not created
      const flow = await create();
      const ledger = new Ledger(flow);
      sendAll(flow, N, (seq) => ({ payload: { prompt: `job ${seq}` } }));
      await ledger.settled(N);
      ledger.assertEachOnce(N);
      should(ledger.errors).have.length(7);
      for (const { msg } of ledger.errors) {
        should(msg.error.message).match(
          /^Replicate had a server error \(HTTP 50[03]\).*\. The prediction may have been created anyway, so it was not sent again/,
        );
        should(msg.payload).eql({ prompt: `job ${msg.seq}` }); // the message as it came in, for a retry by hand
      }
      should(ledger.outputs).have.length(5);
      should([...postsPerMessage().values()]).eql(Array(N).fill(1));
      should(predictionsCreated()).equal(5 + 4);
    });

    it('reads retry a burst of 5xx, resets, malformed JSON and non-predictions, then deliver each result once', async () => {
      const ids = await Promise.all(Array.from({ length: 10 }, () => started()));
      nr.emulator.fault({ match: POLL, type: 'status', status: 500, times: 3 });
      nr.emulator.fault({ match: POLL, type: 'status', status: 502, times: 2 });
      nr.emulator.fault({ match: POLL, type: 'status', status: 503, times: 2 });
      nr.emulator.fault({ match: POLL, type: 'drop', times: 2 });
      nr.emulator.fault({ match: POLL, type: 'drop', after: true, times: 2 });
      nr.emulator.fault({ match: POLL, type: 'malformed', times: 2 });
      nr.emulator.fault({ match: POLL, type: 'invalid-prediction', times: 2 });
      const flow = await waitingGet({}, { maxRetries: 10 });
      const ledger = new Ledger(flow);
      sendAll(flow, ids.length, (seq) => ({ predictionId: ids[seq] }));
      await ledger.settled(ids.length, 20_000);
      ledger.assertEachOnce(ids.length);
      should(ledger.errors).have.length(0);
      should(ledger.outputs.every((o) => o.msg.status === 'succeeded')).be.true();
      should(nr.emulator.stats().faultsFired).equal(15);
    });
  });

  describe('pages under faults', () => {
    it('list models follows every page through a 429, a 5xx and a malformed page: one message, each model once', async () => {
      const PAGES = { method: 'GET', path: '/models' };
      // One page meets them all in a row (the retry backoff grows with each: three keep the test short).
      nr.emulator.fault({ match: PAGES, type: 'rate-limit', retryAfterSeconds: 0, via: 'body' });
      nr.emulator.fault({ match: PAGES, type: 'status', status: 502 });
      nr.emulator.fault({ match: PAGES, type: 'malformed' });
      const flow = await nr.load({ type: 'replicate-list-models', allPages: true, maxPages: 8 });
      const ledger = new Ledger<ModelsMsg>(flow);
      flow.send({ seq: 0 });
      await ledger.settled(1);
      ledger.assertEachOnce(1);
      const outcome = ledger.only(0);
      if (outcome.kind === 'error') throw new Error(`the list failed: ${outcome.msg.error.message}`);
      const { msg } = outcome;
      should(msg.payload).have.length(8 * 25);
      should(new Set(msg.payload.map((m) => `${m.owner}/${m.name}`)).size).equal(8 * 25);
      should(msg.pages).equal(8);
      should(nr.emulator.stats().faultsFired).equal(3);
    });
  });

  describe('connection resets', () => {
    it('never resends a create whose connection dropped: one request per message, one error each', async () => {
      const N = 8;
      nr.emulator.fault({ match: { method: 'POST' }, type: 'drop', times: 3 }); // before Replicate acted
      nr.emulator.fault({ match: { method: 'POST' }, type: 'drop', after: true, times: 3 }); // after it created the prediction
      const flow = await create();
      const ledger = new Ledger(flow);
      sendAll(flow, N, (seq) => ({ payload: { prompt: `job ${seq}` } }));
      await ledger.settled(N);
      ledger.assertEachOnce(N);
      should(ledger.errors).have.length(6);
      for (const { msg } of ledger.errors) {
        should(msg.error.message).match(
          /^The connection to Replicate at 127\.0\.0\.1:\d+ was interrupted \(\w+\)\. The prediction may have been created anyway, so it was not sent again/,
        );
      }
      should([...postsPerMessage().values()]).eql(Array(N).fill(1));
      should(predictionsCreated()).equal(2 + 3);
    });

    it('cancels through dropped connections: retried, ending once each', async () => {
      nr.emulator.fault({ type: 'timing', startingMs: 5000, processingMs: 5000, times: 6 });
      const ids = await Promise.all(Array.from({ length: 6 }, () => started()));
      nr.emulator.fault({ match: { method: 'POST' }, type: 'drop', times: 3 });
      nr.emulator.fault({ match: { method: 'POST' }, type: 'drop', after: true, times: 2 });
      const flow = await nr.load({ type: 'replicate-cancel-prediction' });
      const ledger = new Ledger(flow);
      sendAll(flow, ids.length, (seq) => ({ predictionId: ids[seq] }));
      await ledger.settled(ids.length);
      ledger.assertEachOnce(ids.length);
      should(ledger.outputs.map((o) => o.msg.status)).eql(Array(ids.length).fill('canceled'));
    });
  });

  describe('answers slower than the timeout', () => {
    it('a create that times out is reported once, saying it may exist, and never resent', async () => {
      // Well past the 1 s timeout: undici checks long timeouts on a coarse (half-second) clock.
      nr.emulator.fault({ match: { method: 'POST' }, type: 'delay', ms: 2500, after: true });
      const flow = await create({}, { timeout: 1 });
      const ledger = new Ledger(flow);
      sendAll(flow, 3, (seq) => ({ payload: { prompt: `job ${seq}` } }));
      await ledger.settled(3);
      ledger.assertEachOnce(3);
      should(ledger.errors).have.length(1);
      should(ledger.errors[0]!.msg.error.message).match(
        /^Replicate did not answer within 1 s\. The prediction may have been created anyway, so it was not sent again/,
      );
      should([...postsPerMessage().values()]).eql([1, 1, 1]);
    });

    it('a poll that times out is retried and the result delivered once', async () => {
      const ids = await Promise.all(Array.from({ length: 4 }, () => started()));
      nr.emulator.fault({ match: POLL, type: 'delay', ms: 2500, times: 2 });
      const flow = await waitingGet({}, { timeout: 1 });
      const ledger = new Ledger(flow);
      sendAll(flow, ids.length, (seq) => ({ predictionId: ids[seq] }));
      await ledger.settled(ids.length);
      ledger.assertEachOnce(ids.length);
      should(ledger.outputs.every((o) => o.msg.status === 'succeeded')).be.true();
      should(statusesOf(flow.node).some((s) => /^retry in \d+s$/.test(s.text ?? ''))).be.true(); // the timed-out polls were sent again
    });
  });

  describe('malformed answers', () => {
    it('a create answered with broken JSON or a non-prediction is reported once and never resent', async () => {
      nr.emulator.fault({ match: { method: 'POST' }, type: 'malformed' });
      nr.emulator.fault({ match: { method: 'POST' }, type: 'invalid-prediction' });
      const flow = await create();
      const ledger = new Ledger(flow);
      sendAll(flow, 3, (seq) => ({ payload: { prompt: `job ${seq}` } }));
      await ledger.settled(3);
      ledger.assertEachOnce(3);
      const [broken, notPrediction] = ledger.errors.map((e) => e.msg.error.message).sort();
      should(broken).match(/^Replicate sent a response that is not valid JSON \(HTTP 201\)\. The prediction may have been created anyway/);
      should(notPrediction).match(
        /^Replicate sent a response this node does not understand \(HTTP 201\): .*\. The prediction may have been created anyway/,
      );
      should(ledger.outputs).have.length(1);
      should([...postsPerMessage().values()]).eql([1, 1, 1]);
    });
  });

  describe('everything at once', () => {
    it('create-and-wait under mixed faults: nothing lost, nothing twice, no create resent beyond 429s', async () => {
      const N = 30;
      const POST = { method: 'POST' };
      nr.emulator.fault({ match: POST, type: 'rate-limit', retryAfterSeconds: 0, times: 5 });
      nr.emulator.fault({ match: POST, type: 'status', status: 500, process: true, times: 2 });
      nr.emulator.fault({ match: POST, type: 'drop', after: true, times: 2 });
      nr.emulator.fault({ match: POLL, type: 'status', status: 503, times: 8 });
      nr.emulator.fault({ match: POLL, type: 'drop', times: 4 });
      nr.emulator.fault({ match: POLL, type: 'malformed', times: 4 });
      nr.emulator.fault({ match: POLL, type: 'rate-limit', retryAfterSeconds: 0, times: 6 });
      const flow = await create({ wait: 'complete', pollInterval: 0.1, maxPolls: 100 }, { createRateLimit: 6000, maxRetries: 10 });
      const ledger = new Ledger(flow);
      sendAll(flow, N, (seq) => ({ payload: { prompt: `job ${seq}` } }));
      await ledger.settled(N, 25_000);
      ledger.assertEachOnce(N);
      const messages = ledger.errors.map((e) => e.msg.error.message);
      should(messages).have.length(4);
      should(messages.every((m) => /may have been created anyway, so it was not sent again/.test(m))).be.true();
      should(ledger.outputs.every((o) => o.msg.status === 'succeeded' && o.msg.payload.input?.prompt === `job ${o.msg.seq}`)).be.true();
      // Every message's create went once, plus one resend per 429 (which Replicate did not act on).
      should(createPosts()).have.length(N + 5);
      should(predictionsCreated()).equal(N);
    });
  });

  describe('webhooks', () => {
    let server: Awaited<ReturnType<typeof serveHttpNode>>;
    before(async () => {
      server = await serveHttpNode();
    });
    after(() => server.close());

    it('a delivery refused while the signing secret cannot be fetched is delivered again, and each result emitted once', async () => {
      // The secret fetch fails first (no retries): the prediction completed node answers 503, Replicate tries again a second later.
      nr.emulator.fault({ match: { method: 'GET', path: '/webhooks/default/secret' }, type: 'status', status: 500 });
      const N = 5;
      await helper.load(
        nodeModules(),
        [
          ...createToCompletedFlow(nr.emulator.url, {
            config: { webhookBaseUrl: server.url, maxRetries: 0 },
            create: { model: OFFICIAL },
            completed: { url: '/replicate/faults', correlate: 'seq' },
          }),
          { id: 'catch', z: 'tab', x: 0, y: 0, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
          { id: 'caught', z: 'tab', x: 0, y: 0, type: 'helper' },
        ],
        { cfg: { token: DEFAULT_TOKEN } },
      );
      const created = new Ledger({ outputs: [helper.getNode('created')], caught: helper.getNode('caught') });
      const completed = new Ledger({ outputs: [helper.getNode('done')] });
      for (let seq = 0; seq < N; seq++) helper.getNode('create').receive({ seq, payload: { prompt: `job ${seq}` } });
      await created.settled(N);
      created.assertEachOnce(N);
      await completed.settled(N, 10_000);
      await nr.emulator.webhooks.idle();
      // Every delivery once more, as Replicate may send it: acknowledged, not emitted again.
      const ok = nr.emulator.webhooks.deliveries.filter((d) => d.status === 200);
      should(ok).have.length(N);
      for (const d of ok) should((await nr.emulator.webhooks.redeliver(d.webhookId)).status).equal(200);
      await sleep(100);
      completed.assertEachOnce(N);
      for (const { msg } of completed.outputs) should(msg.payload.input?.prompt).equal(`job ${msg.seq}`); // seq restored from the create's message
      const refused = nr.emulator.webhooks.deliveries.filter((d) => d.status === 503);
      should(refused.length).be.within(1, N);
    });
  });

  describe('redeploys and stops', () => {
    /** The flow as deployed, with the node under test changed: what the editor sends on a "modified nodes" deploy. */
    function modified(change: Record<string, unknown>): object[] {
      const flows = helper._redNodes.getFlows().flows;
      return flows.map((n) => (n.id === UNDER_TEST ? { ...n, ...change } : n));
    }

    for (const deploy of ['nodes', 'full'] as const) {
      it(`a redeploy (${deploy}) in the middle of polling: the old node goes quiet, the new one takes over each wait and delivers it once`, async () => {
        nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 60_000, times: 15 });
        const ids = await Promise.all(Array.from({ length: 15 }, () => started()));
        await handlesSettled();
        const baseline = activeResources();
        const flow = await waitingGet({ name: 'before' });
        const old = new Ledger(flow);
        sendAll(flow, ids.length, (seq) => ({ predictionId: ids[seq] }));
        await sleep(350); // a few polls each, some in flight
        should(requests('GET').length).be.aboveOrEqual(ids.length * 2);

        const restarted = new Promise((resolve) => helper._events.once('flows:started', resolve));
        await helper._redNodes.setFlows(modified({ name: 'after' }), null, deploy);
        await restarted;
        const renewed = helper.getNode(UNDER_TEST);
        should(renewed).not.equal(flow.node);
        should(renewed.name).equal('after');
        should(old.outcomes.size).equal(0); // the old node neither sent nor raised anything
        should(old.orphans).have.length(0);
        should(loggedBy(flow.node, 'warn')).eql([]); // nothing lost: no "keeps running"

        // The new node goes on polling them, with no message sent again: on a "nodes" deploy with the
        // same config node (and client) and the same helper nodes, on a "full" deploy with everything new.
        const ledger = new Ledger({ outputs: [helper.getNode('out0')], caught: helper.getNode('caught') });
        const pollsAtRedeploy = requests('GET').length;
        await sleep(300);
        should(requests('GET').length).be.above(pollsAtRedeploy);
        for (const id of ids) nr.emulator.finish(id, { status: 'succeeded', output: ['done'] });
        await ledger.settled(ids.length);
        ledger.assertEachOnce(ids.length);
        for (const { msg } of ledger.outputs) should(msg.predictionId).equal(ids[msg.seq]); // each with the message it came with
        if (deploy === 'full') should(old.outcomes.size).equal(0);
        // No poll timer left behind once every wait has ended.
        await assertBackTo(baseline, ['Timeout']);
      });
    }

    it('Node-RED stopped with predictions in flight leaves no timer or socket, sends nothing and raises nothing', async () => {
      // Work in every place it can wait: creates queued behind the rate limit and the connection
      // limit, predictions being polled, polls sleeping before a retry, pages and polls on the wire.
      nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 60_000, times: 100 });
      const ids = await Promise.all(Array.from({ length: 20 }, () => started()));
      nr.emulator.fault({ match: POLL, type: 'status', status: 503, times: 10 });
      await handlesSettled();
      const baseline = activeResources();

      const TAB = 'tab';
      const wired = (id: string, node: Record<string, unknown>) => [
        { id, z: TAB, x: 100, y: 100, replicate: 'cfg', ...node, wires: [[`${id}-out`]] },
        { id: `${id}-out`, z: TAB, x: 100, y: 100, type: 'helper' },
      ];
      await helper.load(
        nodeModules(),
        [
          { id: TAB, type: 'tab' },
          configNode('cfg', nr.emulator.url, { createRateLimit: 120, concurrency: 4 }),
          ...wired('create', {
            type: 'replicate-create-prediction',
            model: OFFICIAL,
            input: '{"prompt":"a cat"}',
            wait: 'complete',
            pollInterval: 0.1,
            maxPolls: 1000,
          }),
          ...wired('get', { type: 'replicate-get-prediction', waitForCompletion: true, pollInterval: 0.1, maxPolls: 1000 }),
          ...wired('list', { type: 'replicate-list-models', allPages: true, maxPages: 1000 }),
          { id: 'catch', z: TAB, x: 100, y: 100, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
          { id: 'caught', z: TAB, x: 100, y: 100, type: 'helper' },
        ],
        { cfg: { token: DEFAULT_TOKEN } },
      );
      let after = 0;
      for (const id of ['create-out', 'get-out', 'list-out', 'caught']) helper.getNode(id).on('input', () => after++);
      for (let seq = 0; seq < 10; seq++) helper.getNode('create').receive({ seq, payload: { prompt: `job ${seq}` } });
      for (const [seq, id] of ids.entries()) helper.getNode('get').receive({ seq, predictionId: id });
      helper.getNode('list').receive({ seq: 0 });
      await sleep(400);

      const inFlight = activeResources();
      should(inFlight.TCPSocketWrap ?? 0).be.above(baseline.TCPSocketWrap ?? 0); // connections open
      should(inFlight.Timeout ?? 0).be.above(baseline.Timeout ?? 0); // poll, retry and rate-limit timers
      const sent = after;

      await helper.clearFlows(); // what Node-RED does when it stops
      await assertBackTo(baseline);
      await sleep(300);
      should(after).equal(sent); // nothing sent or raised while stopping, or after
      const polls = requests('GET').length;
      await sleep(300);
      should(requests('GET').length).equal(polls);
    });
  });
});
