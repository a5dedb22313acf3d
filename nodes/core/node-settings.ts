// Zod schemas for what the editor stores in a flow file. Values arrive as the editor saved
// them (numbers often as strings, empty strings for untouched fields), so each field says
// how it is read and what it falls back to.
import { z } from 'zod';
import { parseFieldList } from './correlation-store';
import { CLIENT_DEFAULTS } from './replicate-client';
import { DEFAULT_RETRY } from './retry-policy';
import { TERMINAL_STATUSES } from './schemas';

export const DEFAULT_BASE_URL = 'https://api.replicate.com/v1';

const blankToUndefined = (value: unknown) => (value === '' || value === null ? undefined : value);

export function numberSetting(label: string, min: number, max: number, fallback: number, integer = false) {
  const base = z.coerce.number({ error: `${label} must be a number` });
  const bounded = (integer ? base.int({ error: `${label} must be a whole number` }) : base)
    .min(min, { error: `${label} must be at least ${min}` })
    .max(max, { error: `${label} must be at most ${max}` });
  return z.preprocess(blankToUndefined, bounded.default(fallback));
}

export function textSetting(fallback = '') {
  return z.preprocess(blankToUndefined, z.string().trim().default(fallback));
}

export const ConfigSettingsSchema = z.object({
  name: textSetting(),
  baseUrl: textSetting(DEFAULT_BASE_URL),
  webhookBaseUrl: textSetting(),
  timeout: numberSetting('Timeout', 1, 600, CLIENT_DEFAULTS.timeoutMs / 1000),
  concurrency: numberSetting('Parallel requests', 1, 256, CLIENT_DEFAULTS.maxConcurrency, true),
  createRateLimit: numberSetting('Creates per minute', 0, 1_000_000, CLIENT_DEFAULTS.createsPerMinute, true),
  requestRateLimit: numberSetting('Requests per minute', 0, 1_000_000, CLIENT_DEFAULTS.requestsPerMinute, true),
  maxRetries: numberSetting('Retries', 0, 10, DEFAULT_RETRY.maxRetries, true),
});
export type ConfigSettings = z.infer<typeof ConfigSettingsSchema>;

/** "Timeout must be at least 1; Retries must be a whole number" */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => issue.message).join('; ');
}

export function booleanSetting(fallback: boolean) {
  return z.preprocess((value) => (value === 'true' ? true : value === 'false' ? false : blankToUndefined(value)), z.boolean().default(fallback));
}

/** How a node waits for a prediction to finish: the predict-and-poll workflow's 2 s x 60. */
export const WaitSettingsSchema = z.object({
  pollInterval: numberSetting('Poll interval', 0.1, 3600, 2),
  maxPolls: numberSetting('Max polls', 1, 100_000, 60, true),
  backoff: booleanSetting(false),
  cancelOnTimeout: booleanSetting(false),
});
export type WaitSettings = z.infer<typeof WaitSettingsSchema>;

export const CreateSettingsSchema = WaitSettingsSchema.extend({
  model: textSetting(),
  deployment: textSetting(),
  input: z.preprocess(
    (value) => (typeof value === 'string' ? (value.trim() === '' ? {} : parseJson(value)) : (value ?? {})),
    z.record(z.string(), z.unknown(), { error: 'Default input must be a JSON object, such as {"prompt": "a cat"}' }),
  ),
  webhook: textSetting(),
  /** A prediction-completed node whose URL is the webhook. */
  trigger: textSetting(),
  webhookEvents: z.preprocess(
    (value) => (typeof value === 'string' ? (value === '' ? [] : value.split(',')) : (value ?? [])),
    z.array(z.enum(['start', 'output', 'logs', 'completed'], { error: 'Webhook events can be start, output, logs and completed' })),
  ),
  wait: z.preprocess(blankToUndefined, z.enum(['none', 'sync', 'complete'], { error: 'Wait must be none, sync or complete' }).default('none')),
  waitSeconds: numberSetting('Sync wait', 1, 60, 60, true),
  cancelAfter: textSetting(),
  /** Check msg.payload against the model's input schema before sending. */
  validateInput: booleanSetting(true),
}).refine((s) => !s.trigger || s.webhookEvents.length === 0 || s.webhookEvents.includes('completed'), {
  error: 'Webhook events must include completed when a "prediction completed" node is the webhook: it continues the flow on that event',
  path: ['webhookEvents'],
});
export type CreateSettings = z.infer<typeof CreateSettingsSchema>;

export const GetSettingsSchema = WaitSettingsSchema.extend({
  waitForCompletion: booleanSetting(false),
  splitOutputs: booleanSetting(false),
});
export type GetSettings = z.infer<typeof GetSettingsSchema>;

/** Comma-, space- or newline-separated text, or an array as a flow file may hold it. */
function listOf<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (value) => (typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : (value ?? [])),
    z.array(item),
  );
}

const PREDICTION_FIELDS = new Set(['payload', 'predictionId', 'status', 'webhook']);

/** The msg properties in a restore list that the trigger fills from the prediction. */
function predictionFieldsNamed(text: string): string[] {
  return parseFieldList(text).filter((path) => PREDICTION_FIELDS.has(path.split('.')[0]!));
}

export const TriggerSettingsSchema = z.object({
  url: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() && !value.trim().startsWith('/') ? `/${value.trim()}` : blankToUndefined(value)),
    z
      .string({ error: 'URL path is required, such as /replicate/completed' })
      .trim()
      .regex(/^\/[A-Za-z0-9._~\/-]*$/, { error: 'URL path may only hold letters, digits and . _ ~ / -, such as /replicate/completed' }),
  ),
  auth: z.preprocess(blankToUndefined, z.enum(['signature', 'secret', 'both'], { error: 'Verify must be signature, secret or both' }).default('signature')),
  outcomes: listOf(z.enum(TERMINAL_STATUSES, { error: 'Outcomes can be succeeded, failed, canceled and aborted' })),
  models: listOf(z.string().regex(/^([\w.-]+\/[\w.-]+(:[0-9a-f]{64})?|[0-9a-f]{64})$/, { error: 'Models are owner/name, owner/name:version or a version id' })),
  progress: booleanSetting(false),
  /** msg properties to restore; the editor proposes topic. Never the ones the prediction fills: restoring them would overwrite it. */
  correlate: textSetting().refine((text) => predictionFieldsNamed(text).length === 0, {
    error: (issue) =>
      `Restore may not name ${predictionFieldsNamed(String(issue.input)).join(', ')}: payload, predictionId, status and webhook carry the prediction`,
  }),
  store: textSetting(),
  expiry: numberSetting('Keep message properties for', 0.01, 24 * 90, 24),
});
export type TriggerSettings = z.infer<typeof TriggerSettingsSchema>;

export const ListModelsSettingsSchema = z.object({
  query: textSetting(),
  allPages: booleanSetting(false),
  maxPages: numberSetting('Max pages', 1, 10_000, 20, true),
  sortBy: z.preprocess(blankToUndefined, z.enum(['model_created_at', 'latest_version_created_at']).optional()),
  sortDirection: z.preprocess(blankToUndefined, z.enum(['asc', 'desc']).optional()),
});
export type ListModelsSettings = z.infer<typeof ListModelsSettingsSchema>;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // the schema then reports it is not an object
  }
}
