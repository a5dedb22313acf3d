// The create node's TypedInput settings (model, deployment, default input, webhook URL, cancel
// after) and its input form's fields from msg, flow, global, env or JSONata, as the create body
// shows them; and flows saved before these existed, which must send exactly what they sent.
import should from 'should';
import { CreateSettingsSchema } from '../nodes/core';
import { sentCreate } from './emulator-support/wire';
import { nodeRedWithEmulator } from './support/harness';
import { helper } from './support/node-red';

const OFFICIAL = 'black-forest-labs/flux-schnell';
const OTHER = 'black-forest-labs/flux-dev';

describe('replicate-create-prediction: TypedInputs and the input form', () => {
  const nr = nodeRedWithEmulator();
  const creates = () => nr.emulator.requests.filter((r) => r.method === 'POST');
  const create = (props: Record<string, unknown>) => nr.load({ type: 'replicate-create-prediction', validateInput: false, ...props });

  /** Sends msg, waits for the prediction, and returns the create request the emulator received. */
  async function sent(flow: Awaited<ReturnType<typeof create>>, msg: Record<string, unknown> = {}) {
    const out = flow.next();
    const failed = flow.error().then((caught) => {
      throw new Error(`the create failed: ${String(caught.error.message)}`);
    });
    flow.send(msg);
    await Promise.race([out, failed]);
    failed.catch(() => undefined);
    return creates().at(-1)!;
  }

  describe('a flow saved by the previous version (no type properties)', () => {
    // exactly as 0.1.0 exported it: no modelType, deploymentType, inputType, inputFields, webhookType, cancelAfterType
    const saved = {
      model: OFFICIAL,
      deployment: '',
      input: '{"prompt":"a cat","num_outputs":1}',
      webhook: 'https://hooks.example.com/a',
      webhookEvents: ['completed'],
      cancelAfter: '5m',
    };

    it('reads the missing types as fixed values, and still sends on the prediction as created (wait none)', () => {
      const parsed = CreateSettingsSchema.parse(saved);
      should(parsed).match({ modelType: 'str', deploymentType: 'str', inputType: 'json', webhookType: 'str', cancelAfterType: 'str' });
      should(parsed.inputFields).eql({});
      should(parsed.wait).equal('none');
    });

    it('sends the same create: model by name, the JSON input, the webhook, Cancel-After; msg.payload merged over it', async () => {
      const flow = await create(saved);
      const msg = await (async () => {
        const out = flow.next();
        flow.send({ payload: { prompt: 'a dog' } });
        return out;
      })();
      should(msg.payload.status).equal('starting'); // wait none: as created
      const request = creates().at(-1)!;
      should(request.path).equal(`/v1/models/${OFFICIAL}/predictions`);
      should(JSON.parse(request.body)).eql({
        input: { prompt: 'a dog', num_outputs: 1 },
        webhook: 'https://hooks.example.com/a',
        webhook_events_filter: ['completed'],
      });
      should(request.headers['cancel-after']).equal('5m');
    });

    it('keeps the msg.model and msg.deployment fallbacks when model and deployment are empty', async () => {
      const flow = await create({ ...saved, model: '', webhook: '' });
      should((await sent(flow, { model: OTHER })).path).equal(`/v1/models/${OTHER}/predictions`);
      should((await sent(flow, { deployment: 'emulator/flux-schnell-prod' })).path).equal(
        '/v1/deployments/emulator/flux-schnell-prod/predictions',
      );
    });
  });

  describe('TypedInput settings', () => {
    afterEach(() => {
      delete process.env.REPLICATE_TEST_MODEL;
    });

    it('reads the model from msg, flow, global or env', async () => {
      process.env.REPLICATE_TEST_MODEL = OTHER;
      for (const [type, value] of [
        ['msg', 'which'],
        ['flow', 'model'],
        ['global', 'model'],
        ['env', 'REPLICATE_TEST_MODEL'],
      ] as const) {
        const flow = await create({ model: value, modelType: type, input: '{"prompt":"x"}' });
        flow.node.context().flow.set('model', OTHER);
        flow.node.context().global.set('model', OTHER);
        should((await sent(flow, { which: OTHER })).path).equal(`/v1/models/${OTHER}/predictions`);
        await helper.unload();
      }
    });

    it('falls back to msg.model when the typed model is empty there, and names the property when it is not a string', async () => {
      const flow = await create({ model: 'which', modelType: 'msg', input: '{"prompt":"x"}' });
      should((await sent(flow, { model: OFFICIAL })).path).equal(`/v1/models/${OFFICIAL}/predictions`);
      const caught = flow.error();
      flow.send({ which: 42 });
      should((await caught).error.message).equal('msg.which must be a string, but it is a number');
    });

    it('reads the deployment, the webhook URL and Cancel-After from msg, flow and global', async () => {
      const flow = await create({
        deployment: 'deployment',
        deploymentType: 'msg',
        webhook: 'hook',
        webhookType: 'flow',
        cancelAfter: 'limit',
        cancelAfterType: 'global',
        webhookEvents: ['completed'],
        input: '{"prompt":"x"}',
      });
      flow.node.context().flow.set('hook', 'https://hooks.example.com/typed');
      flow.node.context().global.set('limit', '90s');
      const request = await sent(flow, { deployment: 'emulator/flux-schnell-prod' });
      should(request.path).equal('/v1/deployments/emulator/flux-schnell-prod/predictions');
      should(sentCreate(request).webhook).equal('https://hooks.example.com/typed');
      should(request.headers['cancel-after']).equal('90s');
    });

    it('names a typed webhook URL that is no URL by where it came from', async () => {
      const flow = await create({ model: OFFICIAL, webhook: 'hook', webhookType: 'msg', input: '{}' });
      const caught = flow.error();
      flow.send({ hook: 'not a url' });
      should((await caught).error.message).equal('msg.hook must be an http(s) URL, got "not a url"');
      should(creates()).have.length(0);
    });

    it('takes the default input from msg (an object), msg.payload still merged over it', async () => {
      const flow = await create({ model: OFFICIAL, input: 'job.input', inputType: 'msg' });
      const request = await sent(flow, { job: { input: { prompt: 'from msg', seed: 1 } }, payload: { seed: 2 } });
      should(sentCreate(request).input).eql({ prompt: 'from msg', seed: 2 });
      const caught = flow.error();
      flow.send({ job: { input: 'a cat' } });
      should((await caught).error.message).equal(
        'msg.job.input must be an object of model inputs, such as {"prompt": "a cat"}, but it is a string',
      );
    });
  });

  describe('the input form: fields from msg, flow, global, env and JSONata', () => {
    afterEach(() => {
      delete process.env.REPLICATE_TEST_MEGAPIXELS;
    });

    it('sends each field read for the message beside the fixed ones; msg.payload overrides field by field', async () => {
      process.env.REPLICATE_TEST_MEGAPIXELS = '0.25';
      const flow = await create({
        model: OFFICIAL,
        input: '{"aspect_ratio":"16:9","prompt":"fixed"}',
        inputFields: {
          image: { type: 'msg', value: 'image' },
          prompt: { type: 'flow', value: 'prompt' },
          seed: { type: 'global', value: 'seed' },
          megapixels: { type: 'env', value: 'REPLICATE_TEST_MEGAPIXELS' },
          output_quality: { type: 'jsonata', value: 'quality * 10' },
        },
      });
      flow.node.context().flow.set('prompt', 'from flow');
      flow.node.context().global.set('seed', 7);
      const request = await sent(flow, { image: 'https://files.example.com/cat.png', quality: 8, payload: { seed: 9 } });
      should(sentCreate(request).input).eql({
        aspect_ratio: '16:9',
        prompt: 'from flow',
        image: 'https://files.example.com/cat.png',
        seed: 9,
        megapixels: '0.25',
        output_quality: 80,
      });
    });

    it('does not send a field whose property is missing or empty (never "" for it)', async () => {
      const flow = await create({
        model: OFFICIAL,
        input: '{"prompt":"a cat"}',
        inputFields: { image: { type: 'msg', value: 'image' }, seed: { type: 'msg', value: 'seed' } },
      });
      should(sentCreate(await sent(flow, { seed: '' })).input).eql({ prompt: 'a cat' });
    });

    it('says which field could not be read when its JSONata is wrong, and sends nothing', async () => {
      const flow = await create({ model: OFFICIAL, input: '{}', inputFields: { prompt: { type: 'jsonata', value: '$$$(' } } });
      const caught = flow.error();
      flow.send({});
      should((await caught).error.message).startWith('JSONata $$$( could not be read: ');
      should(creates()).have.length(0);
    });

    it('accepts the form as a flow file holds it after an export and import (an object, or its JSON text)', () => {
      const fields = { image: { type: 'msg', value: 'image' } };
      should(CreateSettingsSchema.parse({ inputFields: fields }).inputFields).eql(fields);
      should(CreateSettingsSchema.parse({ inputFields: JSON.stringify(fields) }).inputFields).eql(fields);
      should(CreateSettingsSchema.safeParse({ inputFields: { image: { type: 'str', value: 'x' } } }).success).be.false();
      should(CreateSettingsSchema.safeParse({ input: 'not json' }).success).be.false();
      should(CreateSettingsSchema.safeParse({ input: 'payload.input', inputType: 'msg' }).success).be.true();
    });
  });
});
