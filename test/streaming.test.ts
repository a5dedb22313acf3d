// Create prediction's stream mode: the text as it is generated on output 1 as a message
// sequence a join node reassembles, the finished prediction on output 2; resumed after a drop,
// polled when it cannot be resumed, the same for a model that cannot stream. Also msg.text on
// every node that sends a finished prediction, and a plain string msg.payload as the prompt.
import should from 'should';
import { DEFAULT_TOKEN, startRecorder } from '../emulator';
import { ReplicateClient } from '../nodes/core';
import { sentCreate, signedHeaders, type WirePrediction } from './emulator-support/wire';
import { nodeRedWithEmulator, type Loaded, type Msg, type PredictionMsg } from './support/harness';
import { helper, httpNode, loadStreamIntoJoin, message, received, statusesOf } from './support/node-red';
import { activeResources, assertBackTo } from './support/outcomes';

const LLAMA = 'meta/meta-llama-3-8b-instruct';
/** A model whose output is one string, and which does not stream. */
const STRING_MODEL = 'lucataco/modernbert-large';
const AUTH = { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' };
/** Whitespace-only, multi-line and blank-line chunks: none may be trimmed, merged or lost. (SSE cannot carry a bare \r.) */
const TRICKY = ['Hello', ' ', ' world', '\n', 'line one\nline two', '   ', '\n\n', 'a\nb', 'end.'];

interface TextMsg extends Msg {
  payload: string;
  predictionId: string;
  parts: { id: string; index: number; type: string; ch: string; count?: number; parts?: unknown };
  complete?: boolean;
}

const joined = (output: unknown) => (Array.isArray(output) ? output.join('') : String(output));

describe('replicate-create-prediction, stream mode', () => {
  const nr = nodeRedWithEmulator({ timing: { startingMs: 20, processingMs: 250 } });
  const streamRequests = () => nr.emulator.requests.filter((r) => r.path.startsWith('/v1/streams/'));

  const streaming = (props: Record<string, unknown> = {}, options: Parameters<typeof nr.load>[1] = {}) =>
    nr.load(
      { type: 'replicate-create-prediction', model: LLAMA, input: '{}', wait: 'stream', pollInterval: 0.1, ...props },
      { outputs: 2, ...options },
    );

  /** Output 1's messages up to the closing one, and output 2's finished prediction (after any logs). */
  async function run(flow: Loaded, msg: Msg) {
    const texts = received<TextMsg>(flow.outputs[0]);
    const second = received<PredictionMsg>(flow.outputs[1]!);
    const finished = new Promise<PredictionMsg>((resolve) =>
      flow.outputs[1]!.on('input', (out: Msg) => {
        if (out.topic !== 'logs') resolve(out as PredictionMsg);
      }),
    );
    flow.send(msg);
    const final = await finished;
    return { texts, final, second };
  }

  /** The invariant: the parts, in order and once each, are the final output joined, closed as a join node expects. */
  function assertSequence(texts: TextMsg[], final: PredictionMsg) {
    should(texts.length).be.above(1);
    const id = final.payload.id;
    texts.forEach((msg, index) => should(msg.parts).match({ id, index, type: 'string', ch: '' }));
    const closing = texts.at(-1)!;
    should(closing).match({ payload: '', complete: true, parts: { count: texts.length } });
    texts.slice(0, -1).forEach((msg) => should(msg).not.have.property('complete'));
    should(texts.map((msg) => msg.payload).join('')).equal(joined(final.payload.output));
  }

  it('sends each chunk as it comes, untrimmed, as a sequence, then the finished prediction with msg.text', async () => {
    const flow = await streaming();
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: TRICKY });
    nr.emulator.fault({ type: 'stream', multiline: true });
    const { texts, final } = await run(flow, { payload: { prompt: 'hi' }, topic: 'chat', session: 'abc' });
    assertSequence(texts, final);
    should(texts.slice(0, -1).map((msg) => msg.payload)).eql(TRICKY);
    for (const msg of texts) should(msg).match({ topic: 'chat', session: 'abc', predictionId: final.payload.id });
    should(final).match({ status: 'succeeded', predictionId: final.payload.id, topic: 'chat', session: 'abc' });
    should(final.payload.output).eql(TRICKY); // untouched, as Replicate sent it
    should(final.text).equal(TRICKY.join(''));
    // the stream asked for events, and the finished prediction came from a final GET
    should(streamRequests()[0]!.headers.accept).equal('text/event-stream');
    should(nr.emulator.requests.some((r) => r.method === 'GET' && r.path === `/v1/predictions/${final.payload.id}`)).be.true();
  });

  it("keeps the model's own tokens: a long answer arrives whole, in order", async () => {
    const flow = await streaming();
    const { texts, final } = await run(flow, { payload: { prompt: 'explain' } });
    should(texts.length).equal((final.payload.output as string[]).length + 1);
    assertSequence(texts, final);
  });

  it('resumes a dropped stream with Last-Event-ID: no chunk lost or sent twice', async () => {
    const flow = await streaming();
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: TRICKY });
    nr.emulator.fault({ type: 'stream', dropAfter: 3 });
    const { texts, final } = await run(flow, { payload: { prompt: 'hi' } });
    assertSequence(texts, final);
    const [first, second] = streamRequests();
    should(first!.headers).not.have.property('last-event-id');
    should(second!.headers['last-event-id']).match(/-3$/); // the logs line, then three tokens
    should(streamRequests()).have.length(2);
  });

  it('polls when the stream cannot be resumed, and sends exactly the missing rest', async () => {
    const flow = await streaming();
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: TRICKY });
    nr.emulator.fault({ type: 'stream', dropAfter: 4 });
    // once the first stream is open: its resumes are refused (410 Gone)
    onFirstText(flow, () => nr.emulator.fault({ type: 'status', status: 410, match: { path: /^\/streams\// }, times: 5 }));
    const { texts, final } = await run(flow, { payload: { prompt: 'hi' } });
    assertSequence(texts, final);
    should(texts.slice(0, 4).map((msg) => msg.payload)).eql(TRICKY.slice(0, 4));
    should(texts[4]!.payload).equal(TRICKY.slice(4).join('')); // the rest, once
    should(streamRequests()).have.length(2); // a 410 is not tried again
    should(statusesOf(flow.node).map((s) => s.text)).containEql('stream lost: polling');
  });

  it('gives up resuming after a few tries with backoff, then polls', async () => {
    const flow = await streaming();
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: TRICKY });
    nr.emulator.fault({ type: 'stream', dropAfter: 2 });
    onFirstText(flow, () => nr.emulator.fault({ type: 'status', status: 503, match: { path: /^\/streams\// }, times: 10 }));
    const { texts, final } = await run(flow, { payload: { prompt: 'hi' } });
    assertSequence(texts, final);
    should(streamRequests()).have.length(1 + 3); // the first, then three tries
    const [, ...retries] = streamRequests();
    for (let i = 1; i < retries.length; i++) should(retries[i]!.at - retries[i - 1]!.at).be.aboveOrEqual(250 * 2 ** (i - 1) - 5);
  });

  it('waits for a model that cannot stream, then sends its output as a sequence, then the prediction', async () => {
    const version = await latestVersion(STRING_MODEL);
    // models on old cog versions have no stream: urls without one
    const created = await createDirectly(STRING_MODEL, 'capital', version);
    const { stream, ...urls } = created.urls;
    should(stream).be.a.String();
    nr.emulator.fault({ type: 'status', status: 201, body: { ...created, urls }, match: { method: 'POST' } });
    nr.emulator.clearRequests();
    const flow = await streaming({ model: `${STRING_MODEL}:${version}`, validateInput: false });
    const { texts, final } = await run(flow, { payload: { text: 'Paris is the [MASK] of France.' } });
    should(streamRequests()).have.length(0);
    assertSequence(texts, final);
    should(texts).have.length(2); // the string, then the closing part
    should(final.text).equal(final.payload.output);
  });

  it('ends the sequence on an error event: the closing part on output 1, the failed prediction on output 2', async () => {
    const flow = await streaming();
    nr.emulator.fault({ type: 'outcome', status: 'failed', error: 'CUDA out of memory' });
    const { texts, final } = await run(flow, { payload: { prompt: 'hi' } });
    should(final).match({ status: 'failed', payload: { error: 'CUDA out of memory' } });
    should(texts.at(-1)).match({ payload: '', complete: true, parts: { count: texts.length } });
  });

  it('sends Cancel-After with the create, as in the other modes', async () => {
    const flow = await streaming({ cancelAfter: '5m' });
    await run(flow, { payload: { prompt: 'hi' } });
    should(nr.emulator.requests.find((r) => r.method === 'POST')!.headers['cancel-after']).equal('5m');
  });

  it('sends logs on output 2 before the finished prediction when asked, and none by default', async () => {
    const withLogs = await run(await streaming({ sendLogs: true }), { payload: { prompt: 'hi' }, topic: 'chat' });
    should(withLogs.second.length).be.above(1);
    should(withLogs.second.at(-1)).equal(withLogs.final);
    for (const logs of withLogs.second.slice(0, -1))
      should(logs).match({ topic: 'logs', payload: `Running ${LLAMA} (emulated)`, predictionId: withLogs.final.payload.id });

    await helper.unload();
    const without = await run(await streaming(), { payload: { prompt: 'hi' }, topic: 'chat' });
    should(without.second).have.length(1);
  });

  it('combines chunks arriving within the window', async () => {
    const flow = await streaming({ combineMs: 60_000 });
    const { texts, final } = await run(flow, { payload: { prompt: 'hi' } });
    assertSequence(texts, final);
    should(texts).have.length(2); // everything within the window, then the closing part
  });

  it('streams 100 predictions at once, each whole and in order', async () => {
    const flow = await streaming({}, { config: { createRateLimit: 0, requestRateLimit: 0 } });
    const texts = received<TextMsg>(flow.outputs[0]);
    const finals = received<PredictionMsg>(flow.outputs[1]!);
    const all = new Promise<void>((resolve) => flow.outputs[1]!.on('input', () => finals.length === 100 && resolve()));
    for (let i = 0; i < 100; i++) flow.send({ payload: { prompt: `question ${i}` }, topic: `t${i}` });
    await all;
    for (const final of finals) {
      const own = texts.filter((msg) => msg.parts.id === final.payload.id);
      own.forEach((msg) => should(msg.topic).equal(final.topic));
      assertSequence(own, final);
    }
  });

  it('closes the stream at once on redeploy: no socket left open, nothing sent after', async () => {
    const baseline = activeResources();
    const flow = await streaming();
    nr.emulator.fault({ type: 'timing', startingMs: 0, processingMs: 20_000 });
    const texts = received<TextMsg>(flow.outputs[0]);
    const first = message(flow.outputs[0]);
    flow.send({ payload: { prompt: 'a long answer' } });
    await first;
    should(nr.emulator.streams.open).equal(1);
    const seen = texts.length;
    await helper.unload();
    await assertBackTo(baseline, ['TCPSocketWrap'], 500);
    should(nr.emulator.streams.open).equal(0);
    should(texts.length).equal(seen);
  });

  it('sends the token to a stream on its own origin only, never to another host', async () => {
    const recorder = await startRecorder();
    try {
      const created = await createDirectly(LLAMA, TRICKY);
      const elsewhere = { ...created, urls: { ...created.urls, stream: `${recorder.origin}/v1/predictions/${created.id}/stream` } };
      nr.emulator.fault({ type: 'status', status: 201, body: elsewhere, match: { method: 'POST' } });
      const flow = await streaming();
      const { texts, final } = await run(flow, { payload: { prompt: 'hi' } });
      const [request] = recorder.requests;
      should(request!.headers).not.have.property('authorization');
      should(request!.headers.accept).equal('text/event-stream');
      assertSequence(texts, final); // not a stream there: the polls bring the text

      const client = new ReplicateClient({ baseUrl: nr.emulator.url, token: DEFAULT_TOKEN });
      const port = nr.emulator.port;
      should(client.headersFor(`HTTP://127.0.0.1:${port}/v1/predictions/x/stream`, 'text/event-stream').authorization).equal(
        `Bearer ${DEFAULT_TOKEN}`,
      );
      for (const other of [`http://127.0.0.1:${port + 1}/x`, `https://127.0.0.1:${port}/x`, `http://localhost:${port}/x`, 'not a url'])
        should(client.headersFor(other, 'text/event-stream')).not.have.property('authorization');
      await client.close();
    } finally {
      await recorder.close();
    }
  });

  it('has a join node in automatic mode put the whole text back together', async () => {
    await loadStreamIntoJoin(nr.emulator.url, { model: LLAMA, input: '{}' });
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: TRICKY });
    const whole = message(helper.getNode('whole'));
    const final = message<PredictionMsg>(helper.getNode('final'));
    helper.getNode('n').receive({ payload: { prompt: 'hi' } });
    should((await whole).payload).equal(TRICKY.join(''));
    should((await final).text).equal(TRICKY.join(''));
  });

  it('the emulator streams on an origin of its own, without a token: opaque ids, multi-line data, done, Last-Event-ID resumes', async () => {
    const created = await createDirectly(LLAMA, ['a', 'b\nc', ' ']);
    const stream = new URL(created.urls.stream!);
    should(stream.origin).equal(nr.emulator.streamOrigin);
    should(stream.origin).not.equal(nr.emulator.origin);
    should(stream.pathname).match(/^\/v1\/streams\/[\w-]{20,}$/);
    should(stream.pathname).not.containEql(created.id);
    const read = async (headers: Record<string, string> = {}) => {
      const res = await fetch(stream, { headers: { accept: 'text/event-stream', ...headers } });
      should(res.status).equal(200);
      should(res.headers.get('content-type')).equal('text/event-stream');
      return res.text();
    };
    const whole = await read();
    const ids = [...whole.matchAll(/^id: (.*)$/gm)].map((m) => m[1]!);
    should(new Set(ids).size).equal(5);
    for (const id of ids) should(id).not.match(/^\d{1,2}$/); // opaque strings, not a count from 0
    should(whole.replace(/^id: .*\n/gm, '')).equal(
      `event: logs\ndata: Running ${LLAMA} (emulated)\n\n` +
        'event: output\ndata: a\n\nevent: output\ndata: b\ndata: c\n\nevent: output\ndata:  \n\n' +
        'event: done\ndata: {}\n\n',
    );
    should(await read({ 'last-event-id': ids[2]! })).equal(
      `id: ${ids[3]}\nevent: output\ndata:  \n\nid: ${ids[4]}\nevent: done\ndata: {}\n\n`,
    );
    // a token sent anyway is not looked at, a wrong one neither
    should(await read({ authorization: 'Bearer r8_not_a_token' })).equal(whole);
    should(await read({ authorization: AUTH.authorization })).equal(whole);
    // a stream id never issued, and the API's own address, have no stream
    should((await fetch(`${nr.emulator.streamOrigin}/v1/streams/${'x'.repeat(32)}`)).status).equal(404);
    should((await fetch(`${nr.emulator.url}/predictions/${created.id}/stream`, { headers: AUTH })).status).equal(404);
  });

  it('the emulator streams an image model too: one file URL per output event, on a /v1/files/ stream', async () => {
    const res = await fetch(`${nr.emulator.url}/models/black-forest-labs/flux-schnell/predictions`, {
      method: 'POST',
      headers: AUTH,
      body: '{"input":{"prompt":"a cat","num_outputs":2}}',
    });
    const image = (await res.json()) as WirePrediction;
    const stream = new URL(image.urls.stream!);
    should(stream.origin).equal(nr.emulator.streamOrigin);
    should(stream.pathname).match(/^\/v1\/files\/[\w-]{20,}$/);
    const events = await (await fetch(stream)).text();
    const outputs = [...events.matchAll(/event: output\ndata: (.*)\n/g)].map((m) => m[1]);
    const finished = (await (await fetch(`${nr.emulator.url}/predictions/${image.id}`, { headers: AUTH })).json()) as WirePrediction;
    should(outputs.length).be.above(0);
    should(outputs).eql(finished.output);
    for (const url of outputs) should((await fetch(url!)).headers.get('content-type')).match(/^image\//);
  });

  function onFirstText(flow: Loaded, then: () => void) {
    let first = true;
    flow.outputs[0].on('input', () => {
      if (first) then();
      first = false;
    });
  }

  async function latestVersion(model: string): Promise<string> {
    const res = await fetch(`${nr.emulator.url}/models/${model}`, { headers: AUTH });
    return ((await res.json()) as { latest_version: { id: string } }).latest_version.id;
  }

  /** A prediction of an official model, or of a version when given, that will output `output`. */
  async function createDirectly(model: string, output: unknown, version?: string): Promise<WirePrediction> {
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output });
    const res = await fetch(version ? `${nr.emulator.url}/predictions` : `${nr.emulator.url}/models/${model}/predictions`, {
      method: 'POST',
      headers: AUTH,
      body: JSON.stringify(version ? { version, input: {} } : { input: {} }),
    });
    return (await res.json()) as WirePrediction;
  }
});

describe('msg.text and a plain string prompt', () => {
  const nr = nodeRedWithEmulator({ timing: { startingMs: 10, processingMs: 60 } });
  const SECRET = 'whsec_' + Buffer.from('a signing key of thirty-two bytes').toString('base64');

  it('create: msg.text holds the whole text of a language model, msg.payload stays as sent', async () => {
    const flow = await nr.load({ type: 'replicate-create-prediction', model: LLAMA, wait: 'complete', pollInterval: 0.1 });
    nr.emulator.fault({ type: 'outcome', status: 'succeeded', output: TRICKY });
    const out = flow.next();
    flow.send({ payload: { prompt: 'hi' } });
    const msg = await out;
    should(msg.payload.output).eql(TRICKY);
    should(msg.text).equal(TRICKY.join(''));
  });

  it('create: a prediction as created, or one whose output is files, has no msg.text', async () => {
    let flow = await nr.load({ type: 'replicate-create-prediction', model: LLAMA, wait: 'none' });
    let out = flow.next();
    flow.send({ payload: { prompt: 'hi' } });
    should(await out).not.have.property('text');

    await helper.unload();
    flow = await nr.load({
      type: 'replicate-create-prediction',
      model: 'black-forest-labs/flux-schnell',
      wait: 'complete',
      pollInterval: 0.1,
    });
    out = flow.next();
    flow.send({ payload: { prompt: 'a cat' } });
    const msg = await out;
    should(Array.isArray(msg.payload.output)).be.true();
    should(msg).not.have.property('text');
  });

  it('get: msg.text for a string output, and for tokens when the schema says concatenate', async () => {
    const flow = await nr.load({ type: 'replicate-get-prediction', waitForCompletion: true, pollInterval: 0.1 });
    for (const output of [TRICKY, 'one whole string']) {
      nr.emulator.fault({ type: 'outcome', status: 'succeeded', output });
      const res = await fetch(`${nr.emulator.url}/models/${LLAMA}/predictions`, { method: 'POST', headers: AUTH, body: '{"input":{}}' });
      const { id } = (await res.json()) as { id: string };
      const out = flow.next();
      flow.send({ predictionId: id });
      const msg = await out;
      should(msg.payload.output).eql(output);
      should(msg.text).equal(joined(output));
    }
  });

  it('prediction completed: msg.text for a language model delivery', async () => {
    const flow = await nr.load({ type: 'replicate-prediction-completed', url: '/llm/done' }, { webhookSecret: SECRET });
    const body = JSON.stringify({ id: 'p0123456789ab', model: LLAMA, version: 'hidden', status: 'succeeded', output: TRICKY, input: {} });
    const out = flow.next();
    const res = await httpNode().post('/llm/done').set(signedHeaders(body, SECRET)).send(body);
    should(res.status).equal(200);
    const msg = await out;
    should(msg.payload.output).eql(TRICKY);
    should(msg.text).equal(TRICKY.join(''));
  });

  it("a plain string msg.payload is the prompt: the model's prompt field, named on the status", async () => {
    const flow = await nr.load({ type: 'replicate-create-prediction', model: LLAMA, input: '{"max_tokens":64}' });
    const out = flow.next();
    flow.send({ payload: 'Why is the sky blue?' });
    await out;
    const create = nr.emulator.requests.find((r) => r.method === 'POST')!;
    should(sentCreate(create).input).eql({ max_tokens: 64, prompt: 'Why is the sky blue?' });
    should(statusesOf(flow.node).map((s) => s.text)).containEql('text→prompt');
  });

  it('without a prompt field, the first required text field that is not a URL', async () => {
    const model = 'cureau/force-align-wordstamps';
    const res = await fetch(`${nr.emulator.url}/models/${model}`, { headers: AUTH });
    const version = ((await res.json()) as { latest_version: { id: string } }).latest_version.id;
    const flow = await nr.load({
      type: 'replicate-create-prediction',
      model: `${model}:${version}`,
      input: '{"audio_file":"https://example.com/a.wav"}',
    });
    const out = flow.next();
    flow.send({ payload: 'the words spoken' });
    await out;
    const create = nr.emulator.requests.find((r) => r.method === 'POST')!;
    should(sentCreate(create).input).eql({ audio_file: 'https://example.com/a.wav', transcript: 'the words spoken' });
    should(statusesOf(flow.node).map((s) => s.text)).containEql('text→transcript');
  });
});
