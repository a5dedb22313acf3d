// The create training dialog's defaults and checks against the runtime's: a node dropped from the
// palette is what a flow without the properties means, and the fixed input it accepts deploys.
import should from 'should';
import { TrainingSettingsSchema } from '../../nodes/core';
import { registeredDefinition } from '../support/editor-script';

interface Definition {
  defaults: Record<string, { value: unknown; validate?: (this: Record<string, unknown>, value: unknown) => boolean }>;
  label(this: Record<string, unknown>): string;
}

describe('the create training dialog', () => {
  const definition = registeredDefinition<Definition>('replicate-create-training', {
    validators: { regex: () => () => true, typedInput: () => () => true, number: () => () => true },
  });
  const editorDefaults = Object.fromEntries(Object.entries(definition.defaults).map(([name, p]) => [name, p.value]));

  it('starts a new node as the runtime reads a flow without the properties', () => {
    const runtime = TrainingSettingsSchema.parse({});
    for (const name of [
      'trainerType',
      'destinationType',
      'createDestination',
      'hardware',
      'wait',
      'pollInterval',
      'maxPolls',
      'deleteUploads',
    ] as const)
      should(editorDefaults[name]).equal(runtime[name], name);
    should(runtime.input).eql(JSON.parse(String(editorDefaults.input)));
  });

  it('accepts as fixed input exactly the JSON objects the runtime deploys', () => {
    const validate = definition.defaults.input!.validate!;
    for (const value of ['{}', '{"steps": 500}', '', '[1]', '"text"', '{oops', 'null', '3']) {
      should(Boolean(validate.call({}, value))).equal(TrainingSettingsSchema.safeParse({ input: value }).success, value);
    }
  });

  it('labels a node by its destination', () => {
    const label = (node: Record<string, unknown>) =>
      definition.label.call({ _: (key: string, vars?: Record<string, string>) => `${key} ${JSON.stringify(vars ?? {})}`, ...node });
    should(label({ destination: 'me/lora' })).equal('replicate-create-training.nodeLabel.training {"destination":"me/lora"}');
    should(label({ destination: 'target', destinationType: 'msg' })).equal(
      'replicate-create-training.nodeLabel.training {"destination":"msg.target"}',
    );
    should(label({ name: 'my training', destination: 'me/lora' })).equal('my training');
  });
});
