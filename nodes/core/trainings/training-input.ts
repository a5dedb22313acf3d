// A trainer's training input: the fields of `TrainingInput` in its version's OpenAPI schema (the
// same form and check as a model's `Input`), and where msg.payload goes in it: files to the
// first required file input (else the first file input), an object merged over the fixed inputs.
import { InputError, type CallOptions, type ReplicateClient } from '../http';
import { isFileData } from '../files';
import { inputFields, type InputField } from '../models';
import { isFileList, zipFiles } from './zip-files';

/** A trainer version as the trainings endpoint names it. */
export interface TrainerRef {
  owner: string;
  name: string;
  version: string;
}

export interface TrainingInputSchema {
  fields: InputField[];
  /** "owner/name", for sentences. */
  model: string;
}

type Json = Record<string, unknown>;

/** The training input's fields of a version's OpenAPI schema; undefined when it cannot be trained. */
export function trainingFields(openapi: unknown): InputField[] | undefined {
  const schemas = (openapi as { components?: { schemas?: Json } } | undefined)?.components?.schemas;
  if (!schemas || typeof schemas.TrainingInput !== 'object') return undefined;
  // inputFields reads `Input`: the same document with the training input in its place
  return inputFields({
    ...(openapi as Json),
    components: { ...(openapi as { components: Json }).components, schemas: { ...schemas, Input: schemas.TrainingInput } },
  });
}

// Schemas by trainer version: a version never changes, and a node trains with one trainer.
const known = new Map<string, TrainingInputSchema>();

/** The trainer's training input, read once per version; an error when the version cannot be trained. */
export async function trainingInputOf(
  client: ReplicateClient,
  trainer: TrainerRef,
  options: CallOptions = {},
): Promise<TrainingInputSchema> {
  const key = `${client.baseUrl.href} ${trainer.owner}/${trainer.name}:${trainer.version}`;
  const cached = known.get(key);
  if (cached) return cached;
  const model = `${trainer.owner}/${trainer.name}`;
  const version = await client.getModelVersion(model, trainer.version, options);
  const fields = trainingFields(version.openapi_schema);
  if (!fields) throw new InputError('training.notTrainable', { model, version: trainer.version });
  if (known.size >= 100) known.clear(); // messages may name any number of trainers
  const schema = { fields, model };
  known.set(key, schema);
  return schema;
}

const isFileField = (field: InputField): boolean => field.format === 'uri' && field.type === 'string';

/** The file input files go to: the first required one, else the first. */
function fileFieldOf(fields: InputField[]): InputField | undefined {
  const files = fields.filter(isFileField);
  return files.find((field) => field.required) ?? files[0];
}

/** The name of the input msg.payload's files go to, for the dialog's hint. */
export function trainingFileField(fields: InputField[]): string | undefined {
  return fileFieldOf(fields)?.name;
}

/**
 * The training input for this message: the fixed inputs, with a Buffer or a list of Buffers in
 * msg.payload on the file input, or an object msg.payload merged over them. Every list of files
 * on a file input is zipped (names from msg.filenames or the files' types).
 */
export function placeTrainingPayload(payload: unknown, defaults: Json, schema: TrainingInputSchema, filenames?: unknown): Json {
  let input: Json = defaults;
  if (isFileData(payload) || isFileList(payload)) {
    const field = fileFieldOf(schema.fields);
    if (!field) throw new InputError('training.noFileInput', { model: schema.model });
    input = { ...defaults, [field.name]: payload };
  } else if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) input = { ...defaults, ...(payload as Json) };
  for (const field of schema.fields.filter(isFileField)) {
    const value = input[field.name];
    if (isFileList(value)) input = { ...input, [field.name]: zipFiles(value, field.name, filenames) };
  }
  return input;
}
