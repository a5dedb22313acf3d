// What the create training dialog loads through the account: the hardware list, the trainer's
// training input (with the file input msg.payload goes to), and which models can be trained.
import should from 'should';
import { DEFAULT_TOKEN, startEmulator, type Emulator } from '../emulator';
import { ask, type Answer } from './support/editor-endpoints';
import { configNode, helper, nodeModules } from './support/node-red';

interface TrainingSchemaAnswer extends Answer {
  model?: string;
  version?: string;
  fields: Array<{ name: string; format?: string; required: boolean }> | null;
  fileField?: string | null;
}

describe('the create training dialog’s endpoints', () => {
  let emulator: Emulator;
  const config = () => ({ id: 'cfg', baseUrl: emulator.url, token: '__PWRD__' });
  before(async () => {
    emulator = await startEmulator();
    await helper.startServer();
  });
  beforeEach(async () => {
    await helper.load(nodeModules(['replicate-config']), [configNode('cfg', emulator.url)], { cfg: { token: DEFAULT_TOKEN } });
  });
  afterEach(() => helper.unload());
  after(async () => {
    await helper.stopServer();
    await emulator.close();
  });

  it('lists the hardware for a destination created here', async () => {
    const { body } = await ask<Answer & { hardware: Array<{ sku: string; name: string }> }>('hardware', { config: config() });
    should(body.ok).be.true();
    should(body.hardware.map((h) => h.sku))
      .containEql('cpu')
      .and.containEql('gpu-t4');
    should(emulator.requests.map((r) => `${r.method} ${r.path}`)).eql(['GET /v1/hardware']);
  });

  it('reads the trainer’s training input, not its prediction input, and names the file input msg.payload goes to', async () => {
    const { body } = await ask<TrainingSchemaAnswer>('training-schema', { config: config(), trainer: 'ostris/flux-dev-lora-trainer' });
    should(body).match({ ok: true, model: 'ostris/flux-dev-lora-trainer', fileField: 'input_images' });
    const names = body.fields!.map((f) => f.name);
    should(names[0]).equal('input_images');
    should(names).containEql('steps').and.containEql('trigger_word').and.not.containEql('prompt');
  });

  it('answers no fields for a version that cannot be trained, and a sentence for a trainer that does not exist', async () => {
    const untrainable = await ask<TrainingSchemaAnswer>('training-schema', { config: config(), trainer: 'black-forest-labs/flux-schnell' });
    should(untrainable.body).match({ ok: true, fields: null });
    const missing = await ask<TrainingSchemaAnswer>('training-schema', { config: config(), trainer: 'nobody/nothing' });
    should(missing.body.ok).be.false();
    should(missing.body.message).containEql('nobody/nothing');
  });

  it('marks the models whose latest version can be trained, for the trainer search', async () => {
    const { body } = await ask<Answer & { models: Array<{ ref: string; trainable: boolean }> }>('models', {
      config: config(),
      query: 'flux-dev-lora-trainer',
    });
    const trainer = body.models.find((m) => m.ref === 'ostris/flux-dev-lora-trainer');
    should(trainer?.trainable).be.true();
    const other = await ask<Answer & { models: Array<{ ref: string; trainable: boolean }> }>('models', {
      config: config(),
      query: 'flux-schnell',
    });
    should(other.body.models.find((m) => m.ref === 'black-forest-labs/flux-schnell')?.trainable).be.false();
  });
});
