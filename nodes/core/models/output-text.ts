// A prediction's output as text, when it is text: a string, or a list of strings its model's
// schema says to show joined (`x-cog-array-display: concatenate`, Replicate's language models,
// which stream one token per element).
import { isVersionId, type CallOptions, type Prediction, type PredictionTarget, type ReplicateClient } from '../http';
import { knownModelInput, modelInput } from './model-inputs';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether a version's OpenAPI schema says its output (a list of strings) is one text, shown joined. */
export function outputConcatenates(openapi: unknown): boolean {
  const output =
    isObject(openapi) && isObject(openapi.components) && isObject(openapi.components.schemas) && openapi.components.schemas.Output;
  return isObject(output) && output.type === 'array' && output['x-cog-array-display'] === 'concatenate';
}

const isStringList = (output: unknown): output is string[] => Array.isArray(output) && output.every((item) => typeof item === 'string');

/** The whole text of an output: a string as it is, a list of strings joined with '' when the schema says so; else undefined. */
export function outputText(output: unknown, concatenates: boolean): string | undefined {
  if (typeof output === 'string') return output;
  return concatenates && isStringList(output) ? output.join('') : undefined;
}

/** The output's text as sent so far could continue it: a string, or a list of strings joined. */
export function joinedOutput(output: unknown): string | undefined {
  if (typeof output === 'string') return output;
  return isStringList(output) ? output.join('') : undefined;
}

/** The model (and version) a prediction ran, as a target whose schema can be looked up. */
export function targetOfPrediction(prediction: Prediction): PredictionTarget | undefined {
  const [owner, name, ...rest] = (prediction.model ?? '').split('/');
  if (!owner || !name || rest.length > 0) return undefined;
  if (isVersionId(prediction.version)) return { kind: 'version', version: prediction.version, model: { owner, name } };
  return { kind: 'model', owner, name };
}

/**
 * msg.text for a finished prediction: a string output always; a list of strings when its
 * model's schema says concatenate, from the cached schema lookup (one request per model and
 * version at most, shared with the input check). Undefined when the output is no text or the
 * schema cannot be had now.
 */
export async function predictionText(
  client: ReplicateClient | undefined,
  prediction: Prediction,
  options: CallOptions = {},
  target: PredictionTarget | undefined = targetOfPrediction(prediction),
): Promise<string | undefined> {
  const { output } = prediction;
  if (typeof output === 'string') return output;
  if (!isStringList(output) || !client || !target) return undefined;
  const cached = knownModelInput(client, target);
  const known = cached ? cached.input : await modelInput(client, target, options).catch(() => undefined);
  return outputText(output, known?.concatenates === true);
}

/**
 * The input field a plain string msg.payload goes into: `prompt` when the model has one, else its
 * first required string field that is not a URL (`format: uri`), in the model's own order
 * (x-order). Undefined when it has neither.
 */
export function promptFieldOf(
  fields: ReadonlyArray<{ name: string; type: string; required: boolean; format?: string; order?: number }>,
): string | undefined {
  if (fields.some((field) => field.name === 'prompt')) return 'prompt';
  const ordered = [...fields].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  return ordered.find((field) => field.required && field.type === 'string' && field.format !== 'uri')?.name;
}

/**
 * The input field a Buffer (or Uint8Array) msg.payload goes into: the model's first required file
 * input (`format: uri`) in its own order (x-order), else its only file input. Undefined when it has
 * none, or several of which none is required.
 */
export function fileFieldOf(
  fields: ReadonlyArray<{ name: string; required: boolean; format?: string; order?: number }>,
): string | undefined {
  const files = [...fields].filter((field) => field.format === 'uri').sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  return files.find((field) => field.required)?.name ?? (files.length === 1 ? files[0]!.name : undefined);
}
