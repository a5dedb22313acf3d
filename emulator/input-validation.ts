// Checks a value against a cog OpenAPI schema the way Replicate does (its messages come from
// gojsonschema), covering what model schemas use: type, enum (cog puts enums behind
// allOf/$ref), anyOf, required, minimum/maximum, minLength/maxLength, items, additionalProperties,
// and `format: uri` as Replicate takes a file input: an http(s) URL or a data: URL, never a local path.
import type { InvalidField } from './responses';

type Schema = Record<string, unknown>;
type Definitions = Record<string, unknown>;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  const actual = jsonType(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

/** What Replicate can fetch for a file input: the file itself (data:) or a URL it downloads. */
const FETCHABLE_URI = /^(?:https?:\/\/[^\s/?#]+|data:[^,]*,)/i;

function resolve(schema: Schema, definitions: Definitions): Schema | undefined {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const target = definitions[ref.replace(/^#\/components\/schemas\//, '')];
  return isObject(target) ? target : undefined;
}

function validate(value: unknown, rawSchema: Schema, field: string, definitions: Definitions, errors: InvalidField[]): void {
  const schema = resolve(rawSchema, definitions);
  if (!schema) return;
  if (value === null && schema.nullable === true) return;

  const type = schema.type;
  if (typeof type === 'string' && !hasType(value, type)) {
    errors.push({ type: 'invalid_type', field, description: `Invalid type. Expected: ${type}, given: ${jsonType(value)}` });
    return;
  }

  if (Array.isArray(schema.allOf)) {
    const before = errors.length;
    for (const part of schema.allOf) if (isObject(part)) validate(value, part, field, definitions, errors);
    if (errors.length > before) errors.push({ type: 'number_all_of', field, description: 'Must validate all the schemas (allOf)' });
  }
  if (Array.isArray(schema.anyOf)) {
    const matches = schema.anyOf.some((part) => {
      const partErrors: InvalidField[] = [];
      if (isObject(part)) validate(value, part, field, definitions, partErrors);
      return partErrors.length === 0;
    });
    if (!matches) errors.push({ type: 'number_any_of', field, description: 'Must validate at least one schema (anyOf)' });
  }

  if (Array.isArray(schema.enum) && !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
    const allowed = schema.enum.map((v) => JSON.stringify(v)).join(', ');
    errors.push({ type: 'enum', field, description: `${field} must be one of the following: ${allowed}` });
  }

  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum)
      errors.push({ type: 'number_gte', field, description: `Must be greater than or equal to ${schema.minimum}` });
    if (typeof schema.maximum === 'number' && value > schema.maximum)
      errors.push({ type: 'number_lte', field, description: `Must be less than or equal to ${schema.maximum}` });
  }
  if (typeof value === 'string') {
    if (schema.format === 'uri' && !FETCHABLE_URI.test(value))
      errors.push({ type: 'format', field, description: "Does not match format 'uri'" });
    const length = [...value].length;
    if (typeof schema.minLength === 'number' && length < schema.minLength)
      errors.push({ type: 'string_gte', field, description: `String length must be greater than or equal to ${schema.minLength}` });
    if (typeof schema.maxLength === 'number' && length > schema.maxLength)
      errors.push({ type: 'string_lte', field, description: `String length must be less than or equal to ${schema.maxLength}` });
  }
  if (Array.isArray(value) && isObject(schema.items)) {
    const items = schema.items;
    value.forEach((item, index) => validate(item, items, `${field}.${index}`, definitions, errors));
  }
  if (isObject(value)) validateObject(value, schema, field, definitions, errors);
}

function validateObject(
  value: Record<string, unknown>,
  schema: Schema,
  field: string,
  definitions: Definitions,
  errors: InvalidField[],
): void {
  const properties = isObject(schema.properties) ? schema.properties : {};
  if (Array.isArray(schema.required)) {
    for (const name of schema.required) {
      if (typeof name !== 'string' || name in value) continue;
      // Replicate fills in defaults before validating, so a required input with a default is never missing.
      const property = properties[name];
      if (isObject(property) && 'default' in property) continue;
      errors.push({ type: 'required', field, description: `${name} is required` });
    }
  }
  if (schema.additionalProperties === false) {
    for (const name of Object.keys(value)) {
      if (!(name in properties))
        errors.push({ type: 'additional_property_not_allowed', field, description: `Additional property ${name} is not allowed` });
    }
  }
  for (const [name, property] of Object.entries(properties)) {
    if (name in value && isObject(property)) validate(value[name], property, childField(field, name), definitions, errors);
  }
}

// gojsonschema names the root "(root)" and drops that prefix from nested fields.
function childField(parent: string, name: string): string {
  return parent === '(root)' ? name : `${parent}.${name}`;
}

/** Problems with a prediction's input, given the model version's OpenAPI schema; [] when valid. */
export function validateInput(input: Record<string, unknown>, openapiSchema: unknown): InvalidField[] {
  const components = isObject(openapiSchema) && isObject(openapiSchema.components) ? openapiSchema.components : {};
  const definitions = isObject(components.schemas) ? components.schemas : {};
  const inputSchema = definitions.Input;
  if (!isObject(inputSchema)) return [];
  const errors: InvalidField[] = [];
  validate(input, inputSchema, 'input', definitions, errors);
  return errors;
}

/** Problems with a request body against a JSON schema whose root is named "(root)". */
export function validateBody(body: unknown, schema: Schema): InvalidField[] {
  const errors: InvalidField[] = [];
  validate(body, schema, '(root)', {}, errors);
  return errors;
}
