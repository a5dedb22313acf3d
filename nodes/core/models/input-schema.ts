// A model version's input, as its OpenAPI schema (components.schemas.Input) describes it: the
// fields the editor's input form shows, and the check a create node makes before
// anything is sent, with the obvious coercions ("3" to 3, "true" to true).
import { InputError, type Sentence, type SentenceKey } from '../http';
import { isFileData } from '../files';

export type FieldType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'any';

export interface InputField {
  name: string;
  type: FieldType;
  required: boolean;
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  format?: string;
  /** The format of an array's items: `uri` for a list of files. */
  itemFormat?: string;
  order: number;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `#/components/schemas/aspect_ratio` within the same document; nothing else is followed. */
function resolve(schema: unknown, root: Json, depth = 0): Json {
  if (!isObject(schema) || depth > 5) return {};
  const ref = schema.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, part) => (isObject(node) && Object.hasOwn(node, part) ? node[part] : undefined), root);
    return { ...resolve(target, root, depth + 1), ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$ref')) };
  }
  const parts = [schema.allOf, schema.anyOf, schema.oneOf].find(Array.isArray) as unknown[] | undefined;
  if (!parts) return schema;
  const merged = parts.reduce<Json>((all, part) => ({ ...all, ...resolve(part, root, depth + 1) }), {});
  const own = Object.fromEntries(Object.entries(schema).filter(([key]) => !['allOf', 'anyOf', 'oneOf'].includes(key)));
  return { ...merged, ...own };
}

const TYPES: FieldType[] = ['string', 'integer', 'number', 'boolean', 'array', 'object'];

/** The input fields of a version's OpenAPI schema, in the model's own order; undefined when it has none. */
export function inputFields(openapi: unknown): InputField[] | undefined {
  if (!isObject(openapi)) return undefined;
  const input = resolve((openapi.components as Json | undefined)?.schemas && ((openapi.components as Json).schemas as Json).Input, openapi);
  if (!isObject(input.properties)) return undefined;
  const required = new Set(Array.isArray(input.required) ? input.required.filter((name): name is string => typeof name === 'string') : []);
  return Object.entries(input.properties)
    .map(([name, raw], index): InputField => {
      const field = resolve(raw, openapi);
      const type = TYPES.includes(field.type as FieldType) ? (field.type as FieldType) : 'any';
      return {
        name,
        type,
        required: required.has(name),
        ...(typeof field.title === 'string' ? { title: field.title } : {}),
        ...(typeof field.description === 'string' ? { description: field.description } : {}),
        ...('default' in field ? { default: field.default } : {}),
        ...(Array.isArray(field.enum) ? { enum: field.enum } : {}),
        ...(typeof field.minimum === 'number' ? { minimum: field.minimum } : {}),
        ...(typeof field.maximum === 'number' ? { maximum: field.maximum } : {}),
        ...(typeof field.format === 'string' ? { format: field.format } : {}),
        ...(type === 'array' && typeof resolve(field.items, openapi).format === 'string'
          ? { itemFormat: resolve(field.items, openapi).format as string }
          : {}),
        order: typeof field['x-order'] === 'number' ? field['x-order'] : 1000 + index,
      };
    })
    .sort((a, b) => a.order - b.order);
}

function describe(value: unknown): string {
  if (isFileData(value)) return `<${value.byteLength} bytes>`; // not its JSON: thousands of numbers
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value); // a cycle or a BigInt: say what it is
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** The value as the field's type when the conversion is obvious, else the value as it was. */
function coerce(field: InputField, value: unknown): unknown {
  if ((field.type === 'integer' || field.type === 'number') && typeof value === 'string' && value.trim() !== '') {
    const number = Number(value.trim());
    if (Number.isFinite(number)) return number;
  }
  if (field.type === 'boolean' && typeof value === 'string' && /^(true|false)$/i.test(value.trim()))
    return value.trim().toLowerCase() === 'true';
  if (field.type === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  return value;
}

function problemWith(field: InputField, value: unknown): Sentence | undefined {
  const got = (key: SentenceKey, vars: Record<string, string | number> = {}): Sentence => ({
    key,
    vars: { name: field.name, value: describe(value), ...vars },
  });
  switch (field.type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return got('input.wholeNumber');
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return got('input.number');
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return got('input.boolean');
      break;
    case 'string':
      // a Buffer where a file or URI goes: sent inline or uploaded, its URL in its place
      if (field.format === 'uri' && isFileData(value)) return undefined;
      if (typeof value !== 'string') return got('input.text');
      break;
    case 'array':
      if (!Array.isArray(value)) return got('input.list');
      break;
    case 'object':
      if (!isObject(value)) return got('input.object');
      break;
  }
  if (field.enum && !field.enum.some((choice) => choice === value)) {
    return got('input.oneOf', { choices: field.enum.map((choice) => describe(choice)).join(', ') });
  }
  if (typeof value === 'number') {
    if (field.minimum !== undefined && value < field.minimum) return got('input.atLeast', { min: field.minimum, value });
    if (field.maximum !== undefined && value > field.maximum) return got('input.atMost', { max: field.maximum, value });
  }
  return undefined;
}

/** How many single-character insertions, deletions or substitutions turn `a` into `b` (Levenshtein). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Names listed in a sentence at most: known inputs offered, unknown ones reported. */
const NAMES_SHOWN = 5;

/**
 * Replicate ignores an input it does not know, so a typo (negative_promt) would silently run
 * without it: name the nearest known input, or a few of them when none is near.
 */
function unknownInput(name: string, fields: InputField[], modelName: string): Sentence {
  const vars = { name: describe(name), model: modelName };
  if (fields.length === 0) return { key: 'input.unknownNoInputs', vars };
  const near = Math.max(1, Math.floor(name.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const field of fields) {
    if (Math.abs(field.name.length - name.length) > near) continue; // too far apart, whatever the letters
    const distance = editDistance(name.toLowerCase(), field.name.toLowerCase());
    if (distance <= near && (!best || distance < best.distance)) best = { name: field.name, distance };
  }
  if (best) return { key: 'input.unknownDidYouMean', vars: { ...vars, suggestion: best.name } };
  const names = fields
    .slice(0, NAMES_SHOWN)
    .map((field) => `"${field.name}"`)
    .join(', ');
  if (fields.length <= NAMES_SHOWN) return { key: 'input.unknownListed', vars: { ...vars, names } };
  return { key: 'input.unknownListedMore', vars: { ...vars, names, more: fields.length - NAMES_SHOWN } };
}

/** The input, coerced where obvious; an InputError naming every field that does not fit, or that the model does not know. */
export function checkInput(fields: InputField[], input: Json, modelName: string): Json {
  const checked: Json = { ...input };
  const problems: Sentence[] = [];
  for (const field of fields) {
    if (!Object.hasOwn(input, field.name) || input[field.name] === null) {
      if (field.required && field.default === undefined) problems.push({ key: 'input.required', vars: { name: field.name } });
      continue;
    }
    const value = coerce(field, input[field.name]);
    const problem = problemWith(field, value);
    if (problem) problems.push(problem);
    else checked[field.name] = value;
  }
  const known = new Set(fields.map((field) => field.name));
  const unknown = Object.keys(input).filter((name) => !known.has(name));
  for (const name of unknown.slice(0, NAMES_SHOWN)) problems.push(unknownInput(name, fields, modelName));
  if (unknown.length > NAMES_SHOWN)
    problems.push({ key: 'input.moreUnknown', vars: { more: unknown.length - NAMES_SHOWN, model: modelName } });
  if (problems.length > 0) {
    // a list ending in a question ends with its question mark, not with a full stop after it
    const question = problems.at(-1)!.key === 'input.unknownDidYouMean';
    throw new InputError(question ? 'input.doesNotFitQuestion' : 'input.doesNotFit', { model: modelName, problems });
  }
  return checked;
}
