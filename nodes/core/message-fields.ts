// What the nodes read from an incoming msg, checked with zod so a mistake names the field.
import { z } from 'zod';
import { InputError } from './errors';
import { checkPredictionId } from './identifiers';

/** "Date", "Map", "Object"...: what an object is, also for objects made in a function node's sandbox. */
const tagOf = (value: unknown) => Object.prototype.toString.call(value).slice(8, -1);

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a buffer';
  const type = typeof value === 'object' && tagOf(value) !== 'Object' ? tagOf(value) : typeof value;
  return `${/^[aeiou]/i.test(type) ? 'an' : 'a'} ${type}`;
}

// Not a Date, a Map or a String object: their fields would be dropped (or spread as "0", "1"...) without a word.
const PlainObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && tagOf(value) === 'Object',
);

function read<T>(schema: z.ZodType<T>, value: unknown, describe: () => string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InputError(describe());
  return parsed.data;
}

/** msg.payload for create: the model input (merged over the node's default input). Empty means none. */
export function readModelInput(payload: unknown): Record<string, unknown> {
  if (payload === undefined || payload === null || payload === '') return {};
  const input = read(PlainObject, payload, () => `msg.payload must be an object of model inputs, such as {"prompt": "a cat"}, but it is ${kind(payload)}`);
  // Checked here, before any request: failing later, as the request is sent, would look like a
  // dropped connection after which the prediction "may have been created".
  try {
    JSON.stringify(input);
  } catch (err) {
    throw new InputError(`msg.payload cannot be sent to Replicate as JSON: ${notJson(err)}`);
  }
  return input;
}

function notJson(err: unknown): string {
  if (err instanceof RangeError) return 'it is nested too deeply';
  const text = err instanceof Error ? err.message : String(err);
  if (/circular/i.test(text)) return 'it contains itself (a circular reference)';
  if (/BigInt/i.test(text)) return 'it holds a BigInt, which JSON cannot carry (send it as a number or a string)';
  return text;
}

/** An optional string field of msg (msg.model, msg.webhook, msg.query, msg.cursor...). */
export function readText(msg: Record<string, unknown>, field: string, maxLength = 2048): string | undefined {
  const value = msg[field];
  if (value === undefined || value === null || value === '') return undefined;
  return read(z.string().max(maxLength), value, () =>
    typeof value === 'string' ? `msg.${field} is longer than ${maxLength} characters` : `msg.${field} must be a string, but it is ${kind(value)}`,
  ).trim();
}

export function readWebhookUrl(value: string, field: string): string {
  return read(z.url({ protocol: /^https?$/ }), value, () => `${field} must be an http(s) URL, got "${value.slice(0, 80)}"`);
}

/**
 * Which prediction a get or cancel node acts on: the node's own setting when it gives one,
 * else msg.predictionId, else msg.payload.id, else msg.payload when it is a string.
 */
export function resolvePredictionId(fromSetting: unknown, msg: Record<string, unknown>): string {
  if (fromSetting !== undefined && fromSetting !== null && fromSetting !== '') return checkPredictionId(fromSetting, 'the prediction id setting');
  if (msg.predictionId !== undefined && msg.predictionId !== null && msg.predictionId !== '') {
    return checkPredictionId(msg.predictionId, 'msg.predictionId');
  }
  const payload = msg.payload;
  if (typeof payload === 'object' && payload !== null && 'id' in payload) return checkPredictionId((payload as { id: unknown }).id, 'msg.payload.id');
  if (typeof payload === 'string' && payload !== '') return checkPredictionId(payload, 'msg.payload');
  throw new InputError('No prediction id: set one on the node, or send msg.predictionId, msg.payload.id or msg.payload as a string');
}
