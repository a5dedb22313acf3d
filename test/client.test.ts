// The API core against the local emulator: retries, the never-twice rule for creates, path
// safety, error sentences and secrets.
import should from 'should';
import { DEFAULT_TOKEN, startEmulator, startRecorder, type Emulator } from '../emulator';
import { ReplicateClient, type ClientOptions } from '../nodes/core/http/client';
import { parseModelRef } from '../nodes/core/http/identifiers';
import { PollsExhaustedError, PredictionPoller } from '../nodes/core/predictions/poller';

const HELLO = 'black-forest-labs/flux-schnell';

describe('Replicate client against the emulator', () => {
  let emulator: Emulator;
  const clients: ReplicateClient[] = [];
  const client = (options: Partial<ClientOptions> = {}) => {
    const made = new ReplicateClient({ baseUrl: emulator.url, token: DEFAULT_TOKEN, retry: { baseDelayMs: 20 }, ...options });
    clients.push(made);
    return made;
  };
  const creates = () => emulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/predictions'));
  const create = (c: ReplicateClient, input: Record<string, unknown> = { prompt: 'a cat' }) =>
    c.createPrediction(parseModelRef(HELLO), { input });

  before(async () => {
    emulator = await startEmulator({
      accounts: [
        { token: DEFAULT_TOKEN, username: 'emulator' },
        { token: 'r8_no_billing', username: 'broke', billing: false },
      ],
    });
  });
  afterEach(async () => {
    emulator.clearFaults();
    emulator.clearRequests();
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(() => emulator.close());

  it('sends bearer auth, JSON and a User-Agent naming the package', async () => {
    const prediction = await create(client());
    should(prediction.status).equal('starting');
    const [request] = creates();
    should(request!.headers.authorization).equal(`Bearer ${DEFAULT_TOKEN}`);
    should(request!.headers['content-type']).match(/^application\/json/);
    should(request!.headers['user-agent']).match(/^@nr-replicate\/node-red-replicate\/\d+\.\d+\.\d+ node\//);
    should(JSON.parse(request!.body)).eql({ input: { prompt: 'a cat' } });
  });

  it('waits out a 429 as Replicate advises (header, body or detail) and then succeeds', async () => {
    const c = client();
    const { id } = await create(c);
    for (const via of ['header', 'body', 'detail'] as const) {
      emulator.clearRequests();
      emulator.fault({ match: { method: 'GET' }, type: 'rate-limit', retryAfterSeconds: 1, via });
      const retries: number[] = [];
      const started = Date.now();
      const prediction = await c.getPrediction(id, { onRetry: (e) => retries.push(e.delayMs) });
      should(prediction.id).equal(id);
      should(Date.now() - started).be.aboveOrEqual(950);
      should(retries).have.length(1);
      should(retries[0]).be.within(1000, 1100);
      should(emulator.requests.filter((r) => r.method === 'GET')).have.length(2);
    }
  });

  it('retries a create after a 429, which Replicate did not act on', async () => {
    emulator.fault({ match: { method: 'POST' }, type: 'rate-limit', retryAfterSeconds: 0 });
    const prediction = await create(client());
    should(prediction.id).be.a.String();
    should(creates()).have.length(2);
  });

  it('never sends a create twice after a 500: the prediction may exist', async () => {
    emulator.fault({ match: { method: 'POST' }, type: 'status', status: 500, process: true });
    const err = await create(client()).then(
      () => null,
      (e: Error) => e,
    );
    should(err).match({ code: 'server', status: 500 });
    should(err!.message).match(/server error \(HTTP 500\).*may have been created anyway, so it was not sent again/);
    should(creates()).have.length(1);
  });

  it('never sends a create twice after a timeout or a dropped connection', async () => {
    emulator.fault({ match: { method: 'POST' }, type: 'delay', ms: 1500, after: true });
    const timedOut = await create(client({ timeoutMs: 300 })).then(
      () => null,
      (e: Error) => e,
    );
    should(timedOut!.message).match(/^Replicate did not answer within 300 ms/);
    should(timedOut!.message).match(/not sent again/);
    should(creates()).have.length(1);

    emulator.clearRequests();
    emulator.fault({ match: { method: 'POST' }, type: 'drop', after: true });
    const dropped = await create(client()).then(
      () => null,
      (e: Error) => e,
    );
    should(dropped!.message).match(/connection to Replicate .* was interrupted.*not sent again/);
    should(creates()).have.length(1);
  });

  it('retries a create whose connection was refused, once the server is there', async () => {
    const gone = await startRecorder();
    await gone.close();
    const port = gone.port; // nothing listens there now: the first attempts are refused
    const late = client({ baseUrl: `http://127.0.0.1:${port}/v1`, retry: { baseDelayMs: 200, maxRetries: 6 } });
    const attempt = create(late);
    await new Promise((r) => setTimeout(r, 100));
    const arrived = await startEmulator({ port });
    try {
      should((await attempt).status).equal('starting');
      should(arrived.requests.filter((r) => r.method === 'POST')).have.length(1);
    } finally {
      await arrived.close();
    }
  });

  it('retries reads on 5xx and dropped connections', async () => {
    const c = client();
    const { id } = await create(c);
    emulator.clearRequests();
    emulator.fault({ match: { method: 'GET' }, type: 'status', status: 503, times: 2 });
    emulator.fault({ match: { method: 'GET' }, type: 'drop' });
    should((await c.getPrediction(id)).id).equal(id);
    should(emulator.requests.filter((r) => r.method === 'GET')).have.length(4);
  });

  it('rejects a bad id or name before any request is made', async () => {
    const c = client();
    for (const bad of ['../account', 'abc/cancel', 'a?b=c', '%2e%2e']) {
      await should(c.getPrediction(bad)).be.rejectedWith({ name: 'InputError' });
      await should(c.cancelPrediction(bad)).be.rejectedWith({ name: 'InputError' });
    }
    await should(c.getModel('owner/name/versions')).be.rejectedWith({ name: 'InputError' });
    should(() => parseModelRef('owner/../account')).throw({ name: 'InputError' });
    should(emulator.requests).have.length(0);
  });

  it('keeps a cursor from a message inside its query parameter', async () => {
    await client()
      .listModels({ cursor: 'abc&sort_by=evil#x' })
      .catch(() => undefined);
    const [request] = emulator.requests;
    should(request!.path).equal('/v1/models');
    should(request!.query).eql({ cursor: 'abc&sort_by=evil#x' });
  });

  it('explains each failure in a sentence that names the cause', async () => {
    const wrongToken = client({ token: 'r8_wrong_token_123' });
    await should(wrongToken.getAccount()).be.rejectedWith(/^Replicate rejected the token \(401\)/);
    await should(create(client({ token: 'r8_no_billing' }))).be.rejectedWith(/^Billing is required on this Replicate account \(402\)/);
    await should(client().getPrediction('doesnotexist00000000000000')).be.rejectedWith(
      'Replicate could not find the prediction "doesnotexist00000000000000" (404)',
    );
    await should(create(client(), {})).be.rejectedWith(/^Input validation failed: .*prompt.* is required/);
    emulator.fault({ type: 'rate-limit', retryAfterSeconds: 1, times: Infinity });
    await should(client({ retry: { maxRetries: 1 } }).getAccount()).be.rejectedWith(/^Replicate is rate limiting this account \(429\)/);
  });

  it('turns a malformed answer into a clear error, not a crash or a hang', async () => {
    emulator.fault({ match: { method: 'POST' }, type: 'malformed' });
    await should(create(client())).be.rejectedWith(/not valid JSON \(HTTP 201\).*not sent again/);
    should(creates()).have.length(1);
    emulator.fault({ match: { method: 'GET' }, type: 'invalid-prediction', times: Infinity });
    const c = client({ retry: { maxRetries: 1, baseDelayMs: 10 } });
    await should(c.getPrediction('abcdefabcdefabcdefabcdefab')).be.rejectedWith(
      /response this node does not understand \(HTTP 200\): (id|status)/,
    );
  });

  it('never lets the token into an error, even when a server echoes it', async () => {
    const secret = 'r8_secret_token_never_shown';
    const leaky = await startEmulator({ accounts: [{ token: secret, username: 'leaky' }] });
    const c = new ReplicateClient({ baseUrl: leaky.url, token: secret, retry: { maxRetries: 0 } });
    try {
      leaky.fault({ type: 'status', status: 400, body: { title: 'Bad', detail: `header was Bearer ${secret}` } });
      const err = await c.getAccount().then(
        () => null,
        (e: Error) => e,
      );
      should(err!.message).match(/\[redacted\]/);
      should(JSON.stringify({ ...err, message: err!.message, stack: err!.stack })).not.containEql(secret);
    } finally {
      await c.close();
      await leaky.close();
    }
  });

  it('keeps at most the configured number of requests in flight', async () => {
    const c = client({ maxConcurrency: 2 });
    emulator.fault({ match: { path: '/account' }, type: 'delay', ms: 150, times: Infinity });
    const started = Date.now();
    await Promise.all(Array.from({ length: 6 }, () => c.getAccount()));
    should(Date.now() - started).be.aboveOrEqual(440);
  });

  it('answers reads and cancels while sync creates hold every connection allowed', async () => {
    const c = client({ maxConcurrency: 2 });
    // Every prediction runs longer than the test: Replicate holds each sync create for its whole wait
    emulator.fault({ type: 'timing', startingMs: 0, processingMs: 60_000, times: 3 });
    const { id } = await create(c);
    const order: string[] = [];
    const held = [1, 2].map(() =>
      c.createPrediction(parseModelRef(HELLO), { input: { prompt: 'held' } }, { waitSeconds: 3 }).then(
        () => order.push('sync create answered'),
        (err: Error) => order.push(err.message),
      ),
    );
    while (creates().length < 3) await new Promise((r) => setTimeout(r, 5));

    await c.getPrediction(id).then((p) => order.push(`got ${p.id === id ? 'it' : p.id}`));
    await c.cancelPrediction(id).then((p) => order.push(`cancel: ${p.status}`));
    await c.close();
    await Promise.all(held);
    should(order).eql([
      'got it',
      'cancel: canceled',
      'The request to Replicate was stopped because the node was closed or redeployed',
      'The request to Replicate was stopped because the node was closed or redeployed',
    ]);
  });

  it('drops a queued request whose signal aborts at once, and never sends it', async () => {
    const c = client({ maxConcurrency: 1 });
    emulator.fault({ match: { path: '/account' }, type: 'delay', ms: 1000 });
    let firstAnswered = false;
    const first = c.getAccount().then(() => (firstAnswered = true));
    while (emulator.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const abort = new AbortController();
    const queued = c.getModel(HELLO, { signal: abort.signal });
    abort.abort();
    await should(queued).be.rejectedWith(/stopped because the node was closed/);
    should(firstAnswered).be.false(); // rejected while the first request still held the only connection
    await first;
    await c.getAccount();
    should(emulator.requests.map((r) => r.path)).eql(['/v1/account', '/v1/account']);
  });

  it('keeps each account to its own token and predictions', async () => {
    const other = await startEmulator({
      accounts: [
        { token: 'r8_client_a', username: 'a' },
        { token: 'r8_client_b', username: 'b' },
      ],
    });
    const a = new ReplicateClient({ baseUrl: other.url, token: 'r8_client_a' });
    const b = new ReplicateClient({ baseUrl: other.url, token: 'r8_client_b' });
    try {
      should((await a.getAccount()).username).equal('a');
      should((await b.getAccount()).username).equal('b');
      const { id } = await create(a);
      await should(b.getPrediction(id)).be.rejectedWith(/could not find/);
      should(other.requests.map((r) => r.headers.authorization)).eql([
        'Bearer r8_client_a',
        'Bearer r8_client_b',
        'Bearer r8_client_a',
        'Bearer r8_client_b',
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await other.close();
    }
  });

  it('stops queued and in-flight requests when closed', async () => {
    const c = client({ maxConcurrency: 1 });
    emulator.fault({ match: { path: '/account' }, type: 'delay', ms: 2000, times: Infinity });
    const pending = [c.getAccount(), c.getAccount()].map((p) =>
      p.then(
        () => undefined,
        (err: Error) => err,
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    await c.close();
    for (const outcome of await Promise.all(pending)) should(outcome).match({ message: /stopped because the node was closed/ });
  });

  describe('waiting for predictions', () => {
    it('polls on schedule until a terminal status, one timer for many predictions', async () => {
      const c = client();
      const poller = new PredictionPoller(c);
      const results = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const p = await create(c);
          return poller.wait(p.id, { intervalMs: 100, maxPolls: 50 }, { initial: p });
        }),
      );
      should(results.map((r) => r.prediction.status)).eql(Array(20).fill('succeeded'));
      // ~500 ms of life each at 100 ms intervals: a handful of polls, never more than the schedule allows
      for (const r of results) should(r.polls).be.within(3, 8);
      should(emulator.requests.filter((r) => r.method === 'GET')).have.length(results.reduce((sum, r) => sum + r.polls, 0));
      should(poller.size).equal(0);
      poller.close();
    });

    it('gives up after maxPolls with the latest state', async () => {
      emulator.fault({ type: 'timing', startingMs: 5000, processingMs: 5000 });
      const c = client();
      const poller = new PredictionPoller(c);
      const { id } = await create(c);
      const err = await poller.wait(id, { intervalMs: 20, maxPolls: 3 }).then(
        () => null,
        (e: Error) => e,
      );
      should(err).be.instanceOf(PollsExhaustedError);
      should(err!.message).equal(`Prediction ${id} is still processing after 3 polls (status: starting)`);
      should((err as PollsExhaustedError).prediction.status).equal('starting');
      poller.close();
    });

    it('rejects every wait and leaves no timer when closed', async () => {
      emulator.fault({ type: 'timing', startingMs: 5000, processingMs: 5000, times: 3 });
      const c = client();
      const poller = new PredictionPoller(c);
      const waits = await Promise.all([1, 2, 3].map(() => create(c))).then((ps) =>
        ps.map((p) => poller.wait(p.id, { intervalMs: 50, maxPolls: 100 }, { initial: p })),
      );
      await new Promise((r) => setTimeout(r, 120));
      poller.close();
      for (const w of waits) await should(w).be.rejectedWith(/stopped because the node was closed/);
      should(poller.size).equal(0);
    });
  });
});
