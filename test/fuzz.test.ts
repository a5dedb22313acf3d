// Fuzzing the nodes' inputs and the prediction completed node's webhook bodies: wrong types, huge strings,
// `__proto__` and `constructor` keys, 10,000 levels of nesting, and seeded random values. Every
// case must end in a clear error that names the field (on a Catch node) or a clean result:
// never a crash, a hang, an unhandled rejection or a polluted prototype. The cases come from
// a seed shown in the suite's title: FUZZ_SEED=<seed> npm test reproduces a failure.
import { createHmac } from 'crypto';
import should from 'should';
import { DEFAULT_TOKEN, signWebhook } from '../emulator';
import type { PredictionCompletedNode } from '../nodes/node-types';
import { nodeRedWithEmulator, type Loaded, type PredictionMsg } from './support/harness';
import { helper, httpNode, received } from './support/node-red';
import { Ledger, watchUnhandledRejections, type Outcome } from './support/outcomes';
import {
  assertNotPolluted,
  deepJson,
  deepObject,
  FUZZ_SEED,
  hostileStrings,
  PROTO_OBJECTS,
  prototypeSnapshot,
  randomCases,
  randomJson,
  randomString,
  seededRandom,
  wrongTypes,
  type Case,
} from './support/seeded';

const OFFICIAL = 'black-forest-labs/flux-schnell';
const PATH = '/replicate/fuzz';
const SECRET = 'whsec_' + Buffer.from('fuzzing signing key, 32 bytes ok').toString('base64');
const RANDOM_CASES = 25;

/** What an error a user reads must not look like: a program's internals instead of a sentence. */
const INTERNALS =
  /^(TypeError|RangeError|SyntaxError|ReferenceError|Error)\b|Cannot read propert|is not a function|Maximum call stack|\bundefined\b|\[object \w+\]|Converting circular/;

function clearSentence(message: unknown): boolean {
  return (
    typeof message === 'string' && message.length > 10 && message.length < 1200 && !INTERNALS.test(message) && /^[A-Z]|^msg\./.test(message)
  );
}

describe(`fuzz: node inputs and webhook bodies (seed ${FUZZ_SEED})`, function () {
  this.timeout(60_000);
  const nr = nodeRedWithEmulator();
  const rejections = watchUnhandledRejections();
  let prototypes: string;
  before(() => {
    prototypes = prototypeSnapshot();
  });
  beforeEach(() => nr.emulator.reset());
  afterEach(() => {
    rejections.assertNone();
    assertNotPolluted(prototypes);
  });

  /** Fixed hostile values, then seeded random ones: the same list for the same seed and field. */
  function casesFor(field: string): Case[] {
    const random = seededRandom(FUZZ_SEED ^ [...field].reduce((h, ch) => Math.imul(h, 31) + ch.charCodeAt(0), 7));
    return [
      { label: 'undefined', value: undefined },
      { label: 'null', value: null },
      { label: 'empty string', value: '' },
      ...wrongTypes(),
      ...hostileStrings(),
      ...randomCases(random, RANDOM_CASES),
    ];
  }

  /**
   * Sends each case into the node at once and checks each ends exactly once, as a message out
   * or as a clear error; `allowed` says which errors name the field (or are Replicate's own
   * answer to a value that was well-formed). Returns the outcomes for more checks.
   */
  async function fuzz(
    flow: Loaded,
    cases: Case[],
    msgFor: (value: unknown) => Record<string, unknown>,
    allowed: RegExp,
  ): Promise<Map<number, Outcome>> {
    const ledger = new Ledger(flow);
    cases.forEach((c, seq) => flow.send({ seq, ...msgFor(c.value) }));
    await ledger.settled(cases.length, 30_000, 100);
    ledger.assertEachOnce(cases.length);
    const problems: string[] = [];
    const ended = new Map<number, Outcome>();
    cases.forEach((c, seq) => {
      const outcome = ledger.only(seq);
      ended.set(seq, outcome);
      if (outcome.kind === 'output') return;
      const message = outcome.msg.error?.message;
      if (!clearSentence(message) || !allowed.test(message)) problems.push(`${c.label}: ${JSON.stringify(message)?.slice(0, 300)}`);
    });
    if (process.env.FUZZ_VERBOSE) {
      for (const [seq, o] of ended)
        console.log(
          `  ${cases[seq]!.label.slice(0, 50).padEnd(50)} ${o.kind === 'output' ? `-> output ${o.msg.status ?? ''}` : `-> "${String(o.msg.error.message).slice(0, 150)}"`}`,
        );
    }
    should(problems).eql([]);
    return ended;
  }

  describe('create prediction', () => {
    const create = (props: Record<string, unknown> = {}) =>
      nr.load({ type: 'replicate-create-prediction', model: OFFICIAL, input: '{"prompt":"a cat"}', ...props });

    it('msg.payload', async () => {
      const cases = [
        ...casesFor('create msg.payload'),
        { label: 'object with a 10 MB prompt', value: { prompt: 'z'.repeat(10 * 1024 * 1024) } },
        { label: `input nested ${10_000} deep`, value: { prompt: 'a cat', extra: deepObject() } },
        { label: 'input holding a BigInt', value: { prompt: 'a cat', seed: 5n } },
        {
          label: 'input holding itself',
          value: (() => {
            const v: Record<string, unknown> = { prompt: 'a cat' };
            v.self = v;
            return v;
          })(),
        },
      ];
      // unchecked, as Replicate receives it
      const ended = await fuzz(
        await create({ validateInput: false }),
        cases,
        (payload) => ({ payload }),
        /^msg\.payload\b|^Input validation failed: /,
      );
      // Objects with __proto__ and constructor keys are model input like any other (and pollute nothing: afterEach).
      for (const proto of PROTO_OBJECTS) should(ended.get(cases.indexOf(proto))!.kind).equal('output');
    });

    it("msg.payload, checked against the model's schema", async () => {
      const cases = casesFor('create checked msg.payload');
      const ended = await fuzz(
        await create(),
        cases,
        (payload) => ({ payload }),
        /^msg\.payload\b|^The input does not fit black-forest-labs\/flux-schnell: /,
      );
      // __proto__ and constructor are named as inputs the model does not have (and pollute nothing: afterEach)
      for (const proto of PROTO_OBJECTS.filter((c) => Object.keys(c.value as object).some((key) => key !== 'prompt'))) {
        const outcome = ended.get(cases.indexOf(proto))!;
        should(outcome.kind).equal('error');
        if (outcome.kind === 'error')
          should(outcome.msg.error.message).match(
            /: input "(__proto__|constructor|prototype)" is not an input of black-forest-labs\/flux-schnell; /,
          );
      }
    });

    it('msg.model', async () => {
      const cases = [
        ...casesFor('create msg.model'),
        { label: 'unknown model', value: 'nobody/nothing' },
        { label: 'official model', value: OFFICIAL },
      ];
      const ended = await fuzz(
        await create({ model: '' }),
        cases,
        (model) => ({ model, payload: { prompt: 'a cat' } }),
        /^msg\.model\b|^No model: |^Replicate could not find the model "[^"]+" \(404\)/,
      );
      should(ended.get(cases.length - 1)!.kind).equal('output');
    });

    it('msg.webhook', async () => {
      const cases = [...casesFor('create msg.webhook'), { label: 'https URL', value: 'https://hooks.example.com/x' }];
      const ended = await fuzz(await create(), cases, (webhook) => ({ webhook, payload: { prompt: 'a cat' } }), /^msg\.webhook\b/);
      should(ended.get(cases.length - 1)!.kind).equal('output');
    });
  });

  for (const type of ['replicate-get-prediction', 'replicate-cancel-prediction']) {
    describe(type.replace('replicate-', '').replace('-', ' '), () => {
      const ID_ERRORS =
        /^msg\.(predictionId|payload(\.id)?)\b|^No prediction id: |^Replicate could not find the prediction "[^"]+" \(404\)/;

      it('msg.predictionId', async () => {
        await fuzz(await nr.load({ type }), casesFor(`${type} msg.predictionId`), (predictionId) => ({ predictionId }), ID_ERRORS);
      });

      it('msg.payload (and msg.payload.id)', async () => {
        const cases = casesFor(`${type} msg.payload`);
        const flow = await nr.load({ type });
        await fuzz(flow, cases, (payload) => ({ payload }), ID_ERRORS);
        await helper.unload();
        await fuzz(await nr.load({ type }), cases, (id) => ({ payload: { id } }), ID_ERRORS);
      });
    });
  }

  describe('messages Node-RED cannot copy', () => {
    // Node-RED copies a message for each Catch and Complete node; 10,000 levels of nesting are
    // too deep for its copy, which then throws inside done().
    it('an error still reaches the Catch node once, with every property that can be copied', async () => {
      const flow = await nr.load({ type: 'replicate-get-prediction' });
      const ledger = new Ledger(flow);
      flow.send({ seq: 0, topic: 'deep', predictionId: deepObject() });
      flow.send({ seq: 1, topic: 'deep', predictionId: '../x', context: deepObject() });
      await ledger.settled(2);
      ledger.assertEachOnce(2);
      should(ledger.only(0).msg).match({
        topic: 'deep',
        error: { message: 'msg.predictionId "{...}" is not a valid Replicate prediction id' },
      });
      should(ledger.only(0).msg).not.have.property('predictionId');
      should(ledger.only(1).msg).match({
        topic: 'deep',
        predictionId: '../x',
        error: { message: 'msg.predictionId "../x" is not a valid Replicate prediction id' },
      });
      should(ledger.only(1).msg).not.have.property('context');
    });

    it('a result still goes out once, though the Complete node cannot get its copy', async () => {
      const res = await fetch(`${nr.emulator.url}/models/${OFFICIAL}/predictions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { prompt: 'a cat' } }),
      });
      const { id } = (await res.json()) as { id: string };
      const flow = await nr.load({ type: 'replicate-get-prediction' });
      const ledger = new Ledger(flow);
      flow.send({ seq: 0, predictionId: id, context: deepObject() });
      await ledger.settled(1);
      ledger.assertEachOnce(1);
      should(ledger.only(0)).match({ kind: 'output', msg: { predictionId: id } });
    });
  });

  describe('list models', () => {
    it('msg.cursor', async () => {
      await fuzz(
        await nr.load({ type: 'replicate-list-models' }),
        casesFor('list msg.cursor'),
        (cursor) => ({ cursor }),
        /^msg\.cursor\b|^Input validation failed: The cursor is not one this API returned/,
      );
    });

    it('msg.query', async () => {
      await fuzz(await nr.load({ type: 'replicate-list-models' }), casesFor('list msg.query'), (query) => ({ query }), /^msg\.query\b/);
    });
  });

  describe('prediction completed (webhook bodies)', () => {
    const completedNode = (props: Record<string, unknown> = {}, credentials?: Record<string, string>) =>
      nr.load({ type: 'replicate-prediction-completed', url: PATH, correlate: 'topic', ...props }, { webhookSecret: SECRET, credentials });
    let counter = 0;
    function signedHeaders(body: string | Buffer) {
      const id = `msg_fuzz_${++counter}`;
      const timestamp = Math.floor(Date.now() / 1000);
      return {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': Buffer.isBuffer(body) ? signBytes(id, timestamp, body) : signWebhook(SECRET, id, timestamp, body),
      };
    }
    /** signWebhook signs text; bytes that are not UTF-8 are signed as they are, as Replicate would. */
    function signBytes(id: string, timestamp: number, body: Buffer): string {
      const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
      return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
    }
    const prediction = (extra: Record<string, unknown> = {}) => ({
      id: `p${(++counter).toString(36).padStart(12, '0')}`,
      model: OFFICIAL,
      version: 'hidden',
      status: 'succeeded',
      input: { prompt: 'a cat' },
      output: ['https://replicate.delivery/x.webp'],
      ...extra,
    });

    /** Bodies as raw text: fixed hostile ones, then seeded random JSON and text. */
    function bodies(): Case[] {
      const random = seededRandom(FUZZ_SEED ^ 0xb0d1e5);
      const fixed: Case[] = [
        { label: 'empty', value: '' },
        { label: 'not JSON', value: 'hello' },
        { label: 'truncated JSON', value: '{"id": "abc", "status": ' },
        { label: 'null', value: 'null' },
        { label: 'a number', value: '42' },
        { label: 'a string', value: '"succeeded"' },
        { label: 'an array', value: '[1,2,3]' },
        { label: 'id of the wrong type', value: JSON.stringify(prediction({ id: 12 })) },
        { label: 'unknown status', value: JSON.stringify(prediction({ status: 'exploded' })) },
        { label: 'input that is not an object', value: JSON.stringify(prediction({ input: 'a cat' })) },
        { label: '__proto__ at the top', value: JSON.stringify(prediction()).replace(/^\{/, '{"__proto__": {"polluted": true}, ') },
        {
          label: '__proto__ inside input and output',
          value: JSON.stringify(prediction())
            .replace('"input":{', '"input":{"__proto__":{"polluted":true},')
            .replace('"output":[', '"output":[{"__proto__":{"polluted":true}},'),
        },
        { label: 'constructor.prototype', value: JSON.stringify(prediction({ constructor: { prototype: { polluted: true } } })) },
        { label: 'status __proto__', value: JSON.stringify(prediction({ status: '__proto__' })) },
        { label: 'id __proto__', value: JSON.stringify(prediction({ id: '__proto__' })) },
        { label: 'id constructor', value: JSON.stringify(prediction({ id: 'constructor' })) },
        {
          label: `output nested ${10_000} deep`,
          value: JSON.stringify(prediction({ output: null })).replace('"output":null', `"output":${deepJson()}`),
        },
        { label: `body nested ${10_000} deep`, value: deepJson() },
        { label: 'array nested 10,000 deep', value: `${'['.repeat(10_000)}${']'.repeat(10_000)}` },
        { label: '4 MB of logs', value: JSON.stringify(prediction({ logs: 'l'.repeat(4 * 1024 * 1024) })) },
        { label: 'a 1 MB key', value: JSON.stringify(prediction({ ['k'.repeat(1024 * 1024)]: 1 })) },
        {
          label: 'invalid UTF-8',
          value: Buffer.concat([Buffer.from(JSON.stringify(prediction()).slice(0, -1)), Buffer.from(',"logs":"\xff\xfe\xc3"}', 'latin1')]),
        },
        { label: 'NUL bytes', value: JSON.stringify(prediction({ logs: 'a\u0000b' })) },
        { label: 'duplicate keys', value: JSON.stringify(prediction()).replace(/\}$/, ', "status": "failed", "status": "canceled"}') },
        { label: 'a progress event', value: JSON.stringify(prediction({ status: 'processing', output: null })) },
      ];
      const randomBodies: Case[] = Array.from({ length: RANDOM_CASES }, (_, i) => {
        const pick = random();
        if (pick < 0.3) return { label: `random text #${i}`, value: randomString(random, 300) };
        if (pick < 0.6) return { label: `random JSON #${i}`, value: JSON.stringify(randomJson(random)) ?? 'null' };
        // A prediction with one field replaced by something random.
        const field = ['id', 'status', 'input', 'output', 'error', 'logs', 'model', 'metrics', 'urls', 'created_at'][
          Math.floor(random() * 10)
        ]!;
        return { label: `prediction with random ${field} #${i}`, value: JSON.stringify(prediction({ [field]: randomJson(random) })) };
      });
      return [...fixed, ...randomBodies];
    }

    /** Posts each body signed and unsigned; returns the answers, and what the prediction completed node emitted. */
    async function deliverAll(flow: Loaded, cases: Case[]) {
      const emitted = received<PredictionMsg>(flow.outputs[0]);
      const answers: Array<{ label: string; signed: boolean; status: number; text: string }> = [];
      for (const c of cases) {
        const body = c.value as string | Buffer;
        for (const signed of [true, false]) {
          const headers = signed ? signedHeaders(body) : { 'content-type': 'application/json' };
          // serialize: superagent would turn a Buffer into {"type": "Buffer", ...} JSON; the bytes go as they are
          // (its types say a serializer returns a string; a Buffer is sent as it is just the same)
          const res = await httpNode()
            .post(PATH)
            .set(headers)
            .serialize((bytes: unknown) => bytes as string)
            .send(body);
          answers.push({ label: c.label, signed, status: res.status, text: res.text });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { answers, emitted };
    }

    /** Whether the body is, for the prediction completed node, a finished prediction (as zod would say, roughly). */
    function isTerminalPrediction(text: string): boolean {
      try {
        const value = JSON.parse(text) as Record<string, unknown>;
        return (
          typeof value === 'object' &&
          value !== null &&
          typeof value.id === 'string' &&
          value.id !== '' &&
          ['succeeded', 'failed', 'canceled', 'aborted'].includes(value.status as string)
        );
      } catch {
        return false;
      }
    }

    it('signed and unsigned bodies: 200, 400 or 401 with a reason, each finished prediction emitted once', async () => {
      const cases = bodies();
      const flow = await completedNode();
      const { answers, emitted } = await deliverAll(flow, cases);
      const wrong = answers.filter((a) => {
        if (!a.signed) return a.status !== 401 || a.text !== 'The webhook signature is missing or does not match';
        return (
          ![200, 400].includes(a.status) || (a.status === 400 && !/^The body is not (valid JSON|a Replicate prediction)$/.test(a.text))
        );
      });
      should(wrong.map((a) => `${a.label} (${a.signed ? 'signed' : 'unsigned'}): ${a.status} ${a.text.slice(0, 100)}`)).eql([]);
      // Emitted: the finished predictions among the accepted bodies, each once.
      const accepted = answers
        .filter((a) => a.signed && a.status === 200)
        .map((a) => String(cases.find((c) => c.label === a.label)!.value));
      const finished = new Set(accepted.filter(isTerminalPrediction).map((text) => (JSON.parse(text) as { id: string }).id));
      should(emitted.map((m) => m.predictionId).sort()).eql([...finished].sort());
      for (const msg of emitted) should(Object.getPrototypeOf(msg.payload)).equal(Object.prototype);
      should(answers.find((a) => a.label === `output nested ${10_000} deep` && a.signed)!.status).equal(200);
    });

    it('hostile correlation keys and secrets in the query: answered, nothing restored from a prototype', async () => {
      const shared = 'correct horse battery staple';
      const flow = await nr.load<PredictionCompletedNode>(
        { type: 'replicate-prediction-completed', url: PATH, correlate: 'topic', auth: 'both' },
        { webhookSecret: SECRET, credentials: { sharedSecret: shared }, config: { webhookBaseUrl: 'https://nodered.example.com' } },
      );
      // A real entry first, so the store's object exists and its prototype is within reach of a key.
      const kept = new URL((await flow.node.webhookFor({ topic: 'kept' })).url);
      const real = kept.search;
      const token = `token=${encodeURIComponent(shared)}`;
      const queries = [
        '?correlation=__proto__',
        '?correlation[__proto__][polluted]=1',
        '?token[__proto__][polluted]=1',
        '?token=a&token=b',
        `?${'x'.repeat(6000)}=1`,
        `?${token}&correlation=__proto__`,
        `?${token}&correlation=constructor`,
        `?${token}&correlation=prototype`,
        `?${token}&correlation=hasOwnProperty`,
        `?${token}&correlation=toString`,
        `?${token}&correlation[]=x`,
        `?${token}&correlation[__proto__][polluted]=1`,
        `?${token}&__proto__[polluted]=1`,
        `?${token}&constructor[prototype][polluted]=1`,
        `?${token}&correlation=${'c'.repeat(5000)}`,
        real, // last: the one that restores
      ];
      const emitted = received<PredictionMsg>(flow.outputs[0]);
      const got: Array<{ query: string; status: number }> = [];
      for (const query of queries) {
        const body = JSON.stringify(prediction());
        const res = await httpNode().post(`${PATH}${query}`).set(signedHeaders(body)).send(body);
        got.push({ query: query.slice(0, 60), status: res.status });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      const authorized = (query: string) => query.includes(token) || query === real;
      should(got.filter((g, i) => g.status !== (authorized(queries[i]!) ? 200 : 401))).eql([]);
      should(emitted).have.length(queries.filter(authorized).length);
      for (const msg of emitted.slice(0, -1)) {
        should(msg).not.have.property('topic'); // nothing kept under such a key, so nothing restored
        should(Object.getPrototypeOf(msg)).equal(Object.prototype);
      }
      should(emitted.at(-1)?.topic).equal('kept');
    });
  });
});
