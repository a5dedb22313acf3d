// What the nodes read from an incoming msg, checked with zod so a mistake names the field.
import { z } from 'zod';
import { checkPredictionId, InputError, type Field, type Sentence, type SentenceKey } from '../http';
import { withoutFileData } from '../files';

/** "Date", "Map", "Object"...: what an object is, also for objects made in a function node's sandbox. */
const tagOf = (value: unknown) => Object.prototype.toString.call(value).slice(8, -1);

/** What a value is, as a sentence: "a string", "an array", "a Date". */
function kind(value: unknown): Sentence {
  if (value === null) return { key: 'kind.null' };
  if (Array.isArray(value)) return { key: 'kind.array' };
  if (Buffer.isBuffer(value)) return { key: 'kind.buffer' };
  if (typeof value !== 'object' || tagOf(value) === 'Object') return { key: `kind.${typeof value}` as SentenceKey };
  const type = tagOf(value);
  return { key: /^[aeiou]/i.test(type) ? 'kind.typedVowel' : 'kind.typed', vars: { type } };
}

// Not a Date, a Map or a String object: their fields would be dropped (or spread as "0", "1"...) without a word.
const PlainObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && tagOf(value) === 'Object',
);

function read<T>(schema: z.ZodType<T>, value: unknown, describe: () => Sentence): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const { key, vars } = describe();
    throw new InputError(key, vars);
  }
  return parsed.data;
}

/** msg.payload for create: the model input (merged over the node's default input). Empty means none. */
export function readModelInput(payload: unknown): Record<string, unknown> {
  // a number or true/false is a trigger (an inject node sends a timestamp unless told otherwise): the default input runs as it is
  if (payload === undefined || payload === null || payload === '' || typeof payload === 'number' || typeof payload === 'boolean') return {};
  const input = read(PlainObject, payload, () => ({ key: 'message.payloadNotObject', vars: { kind: kind(payload) } }));
  // Checked here, before any request: failing later, as the request is sent, would look like a
  // dropped connection after which the prediction "may have been created".
  try {
    JSON.stringify(withoutFileData(input));
  } catch (err) {
    throw new InputError('message.payloadNotJson', { reason: notJson(err) });
  }
  return input;
}

/** Why JSON.stringify failed: in our words when we know, else in its own (a toJSON that threw, say). */
function notJson(err: unknown): Sentence | string {
  if (err instanceof RangeError) return { key: 'message.nestedTooDeeply' };
  const text = err instanceof Error ? err.message : String(err);
  if (/circular/i.test(text)) return { key: 'message.circular' };
  if (/BigInt/i.test(text)) return { key: 'message.bigint' };
  return text;
}

/** An optional string field of msg (msg.model, msg.webhook, msg.query, msg.cursor...). */
export function readText(msg: Record<string, unknown>, field: string, maxLength = 2048): string | undefined {
  return readTextValue(msg[field], `msg.${field}`, maxLength);
}

/** An optional string read from anywhere (a TypedInput setting's msg, flow, global or env value), named by `field`. */
export function readTextValue(value: unknown, field: Field, maxLength = 2048): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return read(z.string().max(maxLength), value, (): Sentence =>
    typeof value === 'string'
      ? { key: 'message.tooLong', vars: { field, max: maxLength } }
      : { key: 'message.notString', vars: { field, kind: kind(value) } },
  ).trim();
}

/** A default input read from msg, flow, global or env: an object of model inputs; nothing there means none. */
export function readInputObject(value: unknown, field: Field): Record<string, unknown> {
  if (value === undefined || value === null || value === '') return {};
  return read(PlainObject, value, () => ({ key: 'message.inputNotObject', vars: { field, kind: kind(value) } }));
}

export function readWebhookUrl(value: string, field: Field): string {
  return read(z.url({ protocol: /^https?$/ }), value, () => ({ key: 'message.notHttpUrl', vars: { field, value: value.slice(0, 80) } }));
}

/**
 * Which prediction a get or cancel node acts on: the node's own setting when it gives one,
 * else msg.predictionId, else msg.payload.id, else msg.payload when it is a string.
 */
export function resolvePredictionId(fromSetting: unknown, msg: Record<string, unknown>): string {
  if (fromSetting !== undefined && fromSetting !== null && fromSetting !== '')
    return checkPredictionId(fromSetting, { key: 'field.predictionIdSetting' });
  if (msg.predictionId !== undefined && msg.predictionId !== null && msg.predictionId !== '') {
    return checkPredictionId(msg.predictionId, 'msg.predictionId');
  }
  const payload = msg.payload;
  if (typeof payload === 'object' && payload !== null && 'id' in payload) return checkPredictionId(payload.id, 'msg.payload.id');
  if (typeof payload === 'string' && payload !== '') return checkPredictionId(payload, 'msg.payload');
  throw new InputError('message.noPredictionId');
}
