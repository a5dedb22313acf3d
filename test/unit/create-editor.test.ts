// The create dialog's defaults against the runtime's: a node dropped from the palette starts with
// Send on: the finished prediction, while a flow saved without the property keeps `none`; the
// TypedInput type properties start as what a flow saved without them means.
import should from 'should';
import { CreateSettingsSchema } from '../../nodes/core';
import { registeredDefinition } from '../support/editor-script';

interface Definition {
  defaults: Record<string, { value: unknown; validate?: (this: Record<string, unknown>, value: unknown) => boolean }>;
  label(this: Record<string, unknown>): string;
}

describe('the create dialog, against flows saved by earlier versions', () => {
  const definition = registeredDefinition<Definition>('replicate-create-prediction', {
    validators: { regex: () => () => true, typedInput: () => () => true, number: () => () => true },
  });
  const editorDefaults = Object.fromEntries(Object.entries(definition.defaults).map(([name, p]) => [name, p.value]));

  it('starts a new node on the finished prediction, while a flow saved without `wait` keeps sending it as created', () => {
    should(editorDefaults.wait).equal('complete');
    should(CreateSettingsSchema.parse({}).wait).equal('none');
    should(CreateSettingsSchema.parse({ wait: '' }).wait).equal('none');
  });

  it('gives each TypedInput a type property whose new-node default is what its absence means in an old flow', () => {
    const old = CreateSettingsSchema.parse({ model: 'a/b', input: '{"prompt":"x"}', webhook: 'https://h.example/x', cancelAfter: '1m' });
    for (const type of ['modelType', 'deploymentType', 'inputType', 'webhookType', 'cancelAfterType'] as const) {
      should(editorDefaults).have.property(type);
      should(editorDefaults[type]).equal(old[type], type);
    }
    should(JSON.stringify(editorDefaults.inputFields)).equal('{}');
    should(old.inputFields).eql({});
  });

  it('checks cancel after as a duration only when it is a fixed value', () => {
    const validate = definition.defaults.cancelAfter!.validate!;
    should(validate.call({}, '5m')).be.true();
    should(validate.call({}, 'soon')).be.false(); // an old flow: no type, a fixed value
    should(validate.call({ cancelAfterType: 'str' }, 'soon')).be.false();
    should(validate.call({ cancelAfterType: 'msg' }, 'job.limit')).be.true();
  });

  it('labels a node by where its model comes from', () => {
    const label = (node: Record<string, unknown>) => definition.label.call({ _: (key: string) => key, ...node });
    should(label({ model: 'black-forest-labs/flux-schnell' })).equal('black-forest-labs/flux-schnell');
    should(label({ model: 'owner/name:0123', modelType: 'str' })).equal('owner/name');
    should(label({ model: 'job.model', modelType: 'msg' })).equal('msg.job.model');
  });
});
