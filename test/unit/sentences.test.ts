// Every runtime sentence of the core is a catalog sentence (a key and its values), so a node can
// say it in the runtime's language, as a whole: a sentence made of sentences ("Settings: ...",
// "... The prediction may have been created anyway") translates inside too. The German catalog
// stands in for any language: each error the core can raise is rendered in it, and no English
// may be left but the values themselves.
import { EventEmitter } from 'events';
import fs from 'fs';
import http from 'http';
import type { AddressInfo } from 'net';
import path from 'path';
import should from 'should';
import {
  BodyAlreadyReadError,
  BodyTooLargeError,
  checkBaseUrl,
  checkCancelAfter,
  checkInput,
  checkPredictionId,
  checkVersionId,
  ConfigSettingsSchema,
  CreateSettingsSchema,
  describeIssues,
  errorFromNetwork,
  errorFromResponse,
  InputError,
  ListModelsSettingsSchema,
  parseDeploymentRef,
  parseModelRef,
  PollsExhaustedError,
  PredictionCompletedSettingsSchema,
  readModelInput,
  readRawBody,
  readText,
  readWebhookUrl,
  renderSentence,
  ReplicateClient,
  resolvePredictionId,
  SentenceError,
  WebhookReceiver,
  webhookUrl,
  type InputField,
  type Prediction,
  type Templates,
} from '../../nodes/core';
import type { IncomingMessage } from 'http';
import type { z } from 'zod';
import { entryAt, readCatalog } from '../support/catalogs';

/** The build copies nodes/locales next to the compiled nodes: dist/nodes/locales. */
const NODES = path.join(__dirname, '..', '..', 'nodes');
const GERMAN = entryAt(readCatalog('de', 'replicate-config'), 'common.sentences');
const inGerman: Templates = (key) => {
  const text = entryAt(GERMAN, key);
  return typeof text === 'string' ? text : undefined;
};

/** Words of the English sentences that no value below contains: one of them in a German text is English left over. */
const ENGLISH = /\b(the|must|is|not|could|and|or|got|of|was|be|missing|setting|anyway|should|which|cannot|only|more|number|object)\b/i;

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('nothing was thrown');
}

const invalid = (schema: { safeParse(value: unknown): z.ZodSafeParseResult<unknown> }, value: Record<string, unknown>) => {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('the settings were accepted');
  return new InputError('node.invalidSettings', { problems: describeIssues(parsed.error) });
};

const FIELDS: InputField[] = [
  { name: 'prompt', type: 'string', required: true, order: 0 },
  { name: 'num_outputs', type: 'integer', required: false, minimum: 1, maximum: 4, order: 1 },
  { name: 'width', type: 'number', required: false, maximum: 1024, order: 2 },
  { name: 'ratio', type: 'string', required: false, enum: ['1:1', '16:9'], order: 3 },
  { name: 'go', type: 'boolean', required: false, order: 4 },
  { name: 'tags', type: 'array', required: false, order: 5 },
  { name: 'extra', type: 'object', required: false, order: 6 },
  { name: 'seed', type: 'integer', required: false, order: 7 },
];
const MODEL = 'owner/painter';

/** A local server for the client's own sentences: Replicate's 404, a body that is no JSON, one that is no prediction, a dropped create. */
async function withServer<T>(use: (url: string) => Promise<T>): Promise<T> {
  const server = http.createServer((req, res) => {
    if (req.url?.endsWith('/absent')) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Nein."}');
    if (req.url?.endsWith('/garbled')) return void res.writeHead(200).end('<html>');
    if (req.url?.endsWith('/strange'))
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "", "status": "starting"}'); // zod's words on it stay as they are, like Replicate's own
    req.socket.destroy(); // a create whose connection drops: it may have reached Replicate
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function clientErrors(): Promise<Record<string, Error>> {
  return withServer(async (url) => {
    const client = new ReplicateClient({ baseUrl: url, token: 'r8_test', retry: { maxRetries: 0 } });
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => new Error('it succeeded'),
        (err: Error) => err,
      );
    try {
      return {
        'a 404 for a prediction': await failure(client.getPrediction('absent')),
        'a body that is no JSON': await failure(client.getPrediction('garbled')),
        'a body that is no prediction': await failure(client.getPrediction('strange')),
        'a create that may have happened': await failure(client.createPrediction(parseModelRef(MODEL), { input: {} })),
      };
    } finally {
      await client.close();
    }
  });
}

async function bodyErrors(): Promise<Record<string, Error>> {
  const closed = Object.assign(new EventEmitter(), { headers: {}, resume() {} }) as unknown as IncomingMessage;
  const reading = readRawBody(closed, 100).then(
    () => new Error('it was read'),
    (err: Error) => err,
  );
  closed.emit('close');
  return {
    'a body cut short': await reading,
    'a body too large': new BodyTooLargeError(100),
    'a body read before': new BodyAlreadyReadError(),
  };
}

function coreErrors(): Record<string, Error> {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const code = (c?: string) => Object.assign(new Error('x'), c ? { code: c } : {});
  const prediction = { id: 'p1', status: 'processing' } as Prediction;
  return {
    'a version id': thrown(() => checkVersionId('zz')),
    'a missing prediction id': thrown(() => checkPredictionId('')),
    'a prediction id': thrown(() => checkPredictionId('../x')),
    'a version in the model setting': thrown(() => parseModelRef('owner/painter:zz', { key: 'field.modelSetting' })),
    'a missing model': thrown(() => parseModelRef('')),
    'a deployment': thrown(() => parseDeploymentRef('x')),
    'a base URL that is no URL': thrown(() => checkBaseUrl('nope')),
    'a base URL with credentials': thrown(() => checkBaseUrl('https://u:p@h.example')),
    'a base URL over http': thrown(() => checkBaseUrl('http://h.example')),
    'a cancel after setting': thrown(() => checkCancelAfter('soon', { key: 'field.cancelAfterSetting' })),
    'a cancel after too short': thrown(() => checkCancelAfter('2s')),
    'a payload that is text': thrown(() => readModelInput('x')),
    'a payload that is a Date': thrown(() => readModelInput(new Date(0))),
    'a payload that is an Int8Array': thrown(() => readModelInput(new Int8Array(1))),
    'a payload with a cycle': thrown(() => readModelInput(circular)),
    'a payload with a BigInt': thrown(() => readModelInput({ seed: 1n })),
    'msg.model as a number': thrown(() => readText({ model: 5 }, 'model')),
    'msg.model too long': thrown(() => readText({ model: 'abcdefgh' }, 'model', 5)),
    'a webhook URL': thrown(() => readWebhookUrl('ftp://x', { key: 'field.webhookSetting' })),
    'no prediction id': thrown(() => resolvePredictionId(undefined, {})),
    'the prediction id setting': thrown(() => resolvePredictionId('bad id!', {})),
    'input of every wrong type': thrown(() =>
      checkInput(FIELDS, { num_outputs: 9, width: 'wide', ratio: '2:1', go: 'maybe', tags: 'x', extra: 3, seed: 1.5 }, MODEL),
    ),
    'input below its minimum, and text': thrown(() => checkInput(FIELDS, { prompt: { a: 1 }, num_outputs: 0 }, MODEL)),
    'an input with a near name': thrown(() => checkInput(FIELDS, { prompt: 'x', sed: 1 }, MODEL)),
    'inputs the model does not have': thrown(() => checkInput(FIELDS, { prompt: 'x', a1: 1, b2: 2, c3: 3, d4: 4, e5: 5, f6: 6 }, MODEL)),
    'inputs the model has, listed': thrown(() => checkInput(FIELDS.slice(0, 3), { prompt: 'x', qqqqqqq: 1 }, MODEL)),
    'an input for a model without inputs': thrown(() => checkInput([], { prompt: 'x' }, MODEL)),
    'config settings': invalid(ConfigSettingsSchema, {
      name: {},
      baseUrl: 5,
      timeout: 'x',
      concurrency: 1.5,
      createRateLimit: -1,
      requestRateLimit: 1e9,
      maxRetries: 11,
    }),
    'create settings': invalid(CreateSettingsSchema, {
      pollInterval: 0,
      maxPolls: 'x',
      backoff: 'maybe',
      model: {},
      input: '[1]',
      webhookEvents: 'start,never',
      wait: 'later',
      waitSeconds: 61,
    }),
    'create settings with a prediction completed node': invalid(CreateSettingsSchema, { trigger: 't', webhookEvents: 'start' }),
    'create settings with events that are no list': invalid(CreateSettingsSchema, { webhookEvents: 5 }),
    'prediction completed settings': invalid(PredictionCompletedSettingsSchema, {
      url: 'a b',
      auth: 'x',
      outcomes: 'done',
      models: 'x',
      correlate: 'payload',
      expiry: 0,
    }),
    'prediction completed settings without a path': invalid(PredictionCompletedSettingsSchema, { url: '', outcomes: 5, models: [5] }),
    'list settings': invalid(ListModelsSettingsSchema, { query: 5, allPages: 'x', maxPages: 0, sortBy: 'name', sortDirection: 'up' }),
    'a prediction completed node without a signing secret': thrown(() => new WebhookReceiver({ auth: 'signature' })),
    'a config node without a public URL': thrown(() => webhookUrl({ publicUrl: '', path: '/x', correlation: 'c1' })),
    'polls run out': new PollsExhaustedError(prediction, 4),
    'polls run out, then cancelled': new PollsExhaustedError(prediction, 4, 'processing', true),
    ...Object.fromEntries(
      [401, 402, 403, 404, 409, 422, 429, 502, 418].flatMap((status) => [
        [`HTTP ${status}`, errorFromResponse(status, {}, '', { key: 'what.prediction', vars: { id: 'p1' } })],
        [
          `HTTP ${status} with Replicate's words`,
          errorFromResponse(status, {}, JSON.stringify({ detail: 'Nein.' }), { key: 'what.account' }),
        ],
      ]),
    ),
    ...Object.fromEntries(
      [
        'ECONNREFUSED',
        'UND_ERR_CONNECT_TIMEOUT',
        'ENOTFOUND',
        'EHOSTUNREACH',
        'CERT_HAS_EXPIRED',
        'ECONNRESET',
        undefined,
        'UND_ERR_RES_EXCEEDED_MAX_SIZE',
        'UND_ERR_ABORTED',
      ].map((c) => [`a network failure ${c}`, errorFromNetwork(code(c), '127.0.0.1:9', 30_000)]),
    ),
    'a timeout in ms': errorFromNetwork(code('UND_ERR_HEADERS_TIMEOUT'), 'h', 500),
    'a timeout in s': errorFromNetwork(code('UND_ERR_BODY_TIMEOUT'), 'h', 30_000),
  };
}

describe('runtime sentences of the core', () => {
  let errors: Record<string, Error>;
  before(async () => {
    errors = { ...coreErrors(), ...(await bodyErrors()), ...(await clientErrors()) };
  });

  it('raises every error as a catalog sentence, keeping its English message', () => {
    const problems: string[] = [];
    for (const [what, err] of Object.entries(errors)) {
      if (!(err instanceof SentenceError)) problems.push(`${what}: ${err.constructor.name} "${err.message}" has no sentence key`);
      else if (err.message !== renderSentence(err)) problems.push(`${what}: its message is not its sentence`);
      if (/__\w+__/.test(err.message)) problems.push(`${what}: a placeholder is left in "${err.message}"`);
    }
    should(problems).eql([]);
  });

  it('says every error in another language as a whole, sentences inside sentences included', () => {
    const problems: string[] = [];
    for (const [what, err] of Object.entries(errors)) {
      if (!(err instanceof SentenceError)) continue; // reported above
      const german = renderSentence(err, inGerman);
      if (german === err.message) problems.push(`${what}: "${german}" is the English text`);
      const left = ENGLISH.exec(german);
      if (left) problems.push(`${what}: "${left[0]}" is English in "${german}"`);
      if (/__\w+__/.test(german)) problems.push(`${what}: a placeholder is left in "${german}"`);
    }
    should(problems).eql([]);
  });

  it('words composite sentences in English exactly as before', () => {
    should(errors['a create that may have happened']!.message).match(
      /^The connection to Replicate at 127\.0\.0\.1:\d+ was interrupted \(\w+\)\. The prediction may have been created anyway, so it was not sent again: check your predictions on replicate\.com before retrying\.$/,
    );
    should(errors['create settings with a prediction completed node']!.message).equal(
      'Settings: Webhook events must include completed when a "prediction completed" node is the webhook: it continues the flow on that event',
    );
    should(errors['an input with a near name']!.message).equal(
      `The input does not fit ${MODEL}: input "sed" is not an input of ${MODEL}; did you mean "seed"? Turn off "Check the input" to send it anyway.`,
    );
    should(errors['a version in the model setting']!.message).equal(
      'the model setting version must be a 64-character version id (0-9, a-f), got "zz"',
    );
  });

  it('fills values in one pass: a value that looks like a placeholder stays as it is', () => {
    const err = thrown(() => readText({ __kind__: 5 }, '__kind__')) as SentenceError;
    should(err.message).equal('msg.__kind__ must be a string, but it is a number');
    should(renderSentence(err, inGerman)).equal('msg.__kind__ muss ein String sein, ist aber eine Zahl');
  });

  it('keeps what each error carries besides its words', () => {
    const dropped = errors['a create that may have happened'] as SentenceError & Record<string, unknown>;
    should(dropped).match({ code: 'network', retryable: true, notSent: false, key: 'response.mayHaveBeenCreated' });
    should(errors['HTTP 429']).match({ code: 'rate-limited', status: 429, retryable: true });
    should(errors['polls run out, then cancelled']).match({ name: 'PollsExhaustedError', polls: 4, cancelled: true });
    should(errors['a body too large']).match({ limit: 100 });
  });
});

describe('the core source', () => {
  /** Every compiled core file, in every concept folder, as it ships. */
  const core = fs
    .readdirSync(path.join(NODES, 'core'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js'))
    .map((file) => ({ file, text: fs.readFileSync(path.join(NODES, 'core', file), 'utf8') }));
  const nodeFiles = fs
    .readdirSync(NODES)
    .filter((file) => file.endsWith('.js'))
    .map((file) => ({ file, text: fs.readFileSync(path.join(NODES, file), 'utf8') }));

  it('builds no error, zod message, log line or answer from English text, only from sentence keys', () => {
    const problems: string[] = [];
    const KEY = /^[a-z]+(\.[A-Za-z]+)+$/;
    for (const { file, text } of [...core, ...nodeFiles]) {
      // the first argument of an error constructor, super() in one, withSentence()
      for (const m of text.matchAll(/(?:Error\)?|super|withSentence)\(\s*(['"`])((?:(?!\1)[^\\]|\\.)*)\1/g)) {
        if (!KEY.test(m[2]!.replace(/\$\{\w+\}/g, 'X'))) problems.push(`${file}: ${m[0]}`); // `response.${key}Detail` is a key too
      }
      // the API response schemas speak zod's technical words, framed by response.notUnderstood like Replicate's own detail
      if (file !== path.join('http', 'schemas.js')) {
        for (const m of text.matchAll(/\berror:\s*['"`]/g)) problems.push(`${file}: a zod message as text: ${m[0]}`);
      }
      for (const m of text.matchAll(/\.(?:warn|error|send)\(\s*['"`]/g)) problems.push(`${file}: ${m[0]}`);
    }
    should(problems).eql([]);
  });
});
