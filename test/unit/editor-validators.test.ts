// The editor's checks against the runtime's: a value the dialog accepts must deploy, and one it
// refuses must be one the runtime would refuse too. Each node's `defaults` are read from its
// .html as the editor runs it, and each numeric setting is judged by both at its boundaries.
import should from 'should';
import { registeredDefinition } from '../support/editor-script';
import { z } from 'zod';
import {
  ConfigSettingsSchema,
  CreateSettingsSchema,
  GetSettingsSchema,
  ListModelsSettingsSchema,
  TrainingSettingsSchema,
} from '../../nodes/core';

/** The build copies the editor files next to the compiled nodes: dist/nodes. */

const SCHEMAS: Record<string, z.ZodObject> = {
  'replicate-create-prediction': CreateSettingsSchema,
  'replicate-get-prediction': GetSettingsSchema,
  'replicate-list-models': ListModelsSettingsSchema,
  'replicate-config': ConfigSettingsSchema,
  'replicate-create-training': TrainingSettingsSchema,
};

interface Property {
  value?: unknown;
  required?: boolean;
  validate?: (this: Record<string, unknown>, value: unknown, options?: object) => unknown;
}

/** The definition a node's .html registers, run with just enough of the editor's RED for its `defaults`. */
function editorDefinition(type: string): { defaults: Record<string, Property> } {
  const RED = {
    validators: {
      // as Node-RED's: anything JavaScript reads as a number, blank included
      number: () => (value: unknown) => !Number.isNaN(Number(value)),
      regex: (re: RegExp) => (value: unknown) => re.test(String(value)),
      typedInput: () => () => true,
    },
  };
  return registeredDefinition(type, RED);
}

/** The editor's verdict on one property, as its validateNodeProperty reaches it. */
function editorAccepts(property: Property, value: unknown, node: Record<string, unknown> = {}): boolean {
  if (property.required && value === '') return false;
  if (!property.validate) return true;
  if (property.required === false && value === '') return true;
  const verdict = property.validate.call(node, value, {});
  // a validator taking (value, options) says why it refuses with a string
  if ((property.validate.length === 2 && typeof verdict === 'string') || Array.isArray(verdict)) return false;
  return Boolean(verdict);
}

/** The bounds of a numeric setting (numberSetting in node-settings.ts), or undefined for another kind. */
function numericBounds(field: z.ZodType): { min: number; max: number; whole: boolean } | undefined {
  const inner = (field as unknown as { out?: unknown }).out;
  if (!(inner instanceof z.ZodDefault)) return undefined;
  const number = inner.unwrap();
  if (!(number instanceof z.ZodNumber) || number.minValue === null || number.maxValue === null) return undefined;
  return { min: number.minValue, max: number.maxValue, whole: number.isInt };
}

/** The values where the editor and the runtime might part: each bound, just past it, a fraction, blank. */
function boundaryValues({ min, max, whole }: { min: number; max: number; whole: boolean }): string[] {
  const step = whole ? 1 : Math.min(0.01, min > 0 ? min / 10 : 0.01);
  const values = [min, max, min - step, max + step, (min + max) / 2];
  if (whole) values.push(min + 0.5, max - 0.5);
  return [...values.map((value) => String(Number(value.toFixed(6)))), '', 'ten', ' '];
}

describe('editor checks and runtime settings', () => {
  for (const [type, schema] of Object.entries(SCHEMAS)) {
    it(`${type}: the dialog accepts exactly the numbers the runtime accepts, and blank where it has a default`, () => {
      const { defaults } = editorDefinition(type);
      const numeric = Object.entries(schema.shape)
        .map(([name, field]) => [name, numericBounds(field as z.ZodType)] as const)
        .filter((entry): entry is readonly [string, NonNullable<ReturnType<typeof numericBounds>>] => entry[1] !== undefined);
      should(numeric.length).be.above(0);
      const disagreements: string[] = [];
      for (const [name, bounds] of numeric) {
        const property = defaults[name];
        if (!property) {
          disagreements.push(`${name}: not in the dialog's defaults`);
          continue;
        }
        for (const value of [...boundaryValues(bounds), String(property.value)]) {
          const runtime = (schema.shape[name] as z.ZodType).safeParse(value).success;
          const editor = editorAccepts(property, value);
          if (editor !== runtime)
            disagreements.push(
              `${name} = ${JSON.stringify(value)}: the dialog ${editor ? 'accepts' : 'refuses'} it, the runtime ${runtime ? 'accepts' : 'refuses'} it`,
            );
        }
      }
      should(disagreements).eql([]);
    });
  }

  it('the create dialog requires completed for a prediction completed node and one event for a typed URL, as the runtime does', () => {
    const events = editorDefinition('replicate-create-prediction').defaults.webhookEvents!;
    const cases: Array<[Record<string, unknown>, string[], boolean]> = [
      [{ trigger: 'abc' }, ['completed'], true],
      [{ trigger: 'abc' }, ['start', 'completed'], true],
      [{ trigger: 'abc' }, ['start', 'output'], false],
      [{ trigger: 'abc' }, [], true], // saved by older versions: the runtime sends completed
      [{ webhook: 'https://hooks.example.com/a' }, ['start'], true],
      [{ webhook: 'https://hooks.example.com/a' }, [], false],
      [{ webhook: '' }, [], true],
    ];
    for (const [node, list, accepted] of cases) {
      should(editorAccepts(events, list, node)).equal(accepted, `${JSON.stringify(node)} with ${JSON.stringify(list)}`);
    }
    // what the dialog accepts, the runtime deploys
    for (const [node, list, accepted] of cases) {
      if (accepted) should(CreateSettingsSchema.safeParse({ ...node, webhookEvents: list }).success).be.true();
    }
    should(CreateSettingsSchema.safeParse({ trigger: 'abc', webhookEvents: ['start', 'output'] }).success).be.false();
  });
});
