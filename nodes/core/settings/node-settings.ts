// Zod schemas for what the editor stores in a flow file. Values arrive as the editor saved
// them (numbers often as strings, empty strings for untouched fields), so each field says
// how it is read and what it falls back to.
import { z } from 'zod';
import { CLIENT_DEFAULTS, DEFAULT_RETRY, fromMessage, says, TERMINAL_STATUSES, type SentenceKey, type SentenceVar } from '../http';
import { parseFieldList } from '../webhooks';
import { isHostPattern, parseHostList } from '../files';

export const DEFAULT_BASE_URL = 'https://api.replicate.com/v1';

const blankToUndefined = (value: unknown) => (value === '' || value === null ? undefined : value);

type LabelOf<K> = K extends `settings.label.${infer L}` ? L : never;
/** A setting's name in sentences about it: a key under settings.label. */
type SettingLabel = LabelOf<SentenceKey>;

// zod messages are sentences (see says), so that a node can say them in the runtime's language.
export function numberSetting(labelKey: SettingLabel, min: number, max: number, fallback: number, integer = false) {
  const label = { key: `settings.label.${labelKey}` } as const;
  const base = z.coerce.number({ error: says('settings.notANumber', { label }) });
  const bounded = (integer ? base.int({ error: says('settings.notWholeNumber', { label }) }) : base)
    .min(min, { error: says('settings.atLeast', { label, min }) })
    .max(max, { error: says('settings.atMost', { label, max }) });
  return z.preprocess(blankToUndefined, bounded.default(fallback));
}

export function textSetting(fallback = '') {
  return z.preprocess(
    blankToUndefined,
    z
      .string({ error: says('settings.notText') })
      .trim()
      .default(fallback),
  );
}

export const ConfigSettingsSchema = z.object({
  name: textSetting(),
  baseUrl: textSetting(DEFAULT_BASE_URL),
  webhookBaseUrl: textSetting(),
  timeout: numberSetting('timeout', 1, 600, CLIENT_DEFAULTS.timeoutMs / 1000),
  concurrency: numberSetting('concurrency', 1, 256, CLIENT_DEFAULTS.maxConcurrency, true),
  createRateLimit: numberSetting('createRateLimit', 0, 1_000_000, CLIENT_DEFAULTS.createsPerMinute, true),
  requestRateLimit: numberSetting('requestRateLimit', 0, 1_000_000, CLIENT_DEFAULTS.requestsPerMinute, true),
  maxRetries: numberSetting('maxRetries', 0, 10, DEFAULT_RETRY.maxRetries, true),
  /** KB: files in a model input up to this size go inline as data: URLs, larger ones are uploaded. */
  inlineFileLimit: numberSetting('inlineFileLimit', 0, 10 * 1024, 256),
  /** Hosts output files are downloaded from, besides replicate.delivery and the API's own. */
  downloadHosts: z.preprocess(
    (value) => (typeof value === 'string' ? parseHostList(value) : (value ?? [])),
    z.array(z.string().refine(isHostPattern, { error: says('settings.downloadHosts') }), { error: says('settings.downloadHosts') }),
  ),
  /** MB: the largest output file downloaded. */
  maxDownload: numberSetting('maxDownload', 1, 100_000, 100),
  /** Waits of create and get nodes saved for a restart, and the prediction completed node's recent deliveries; off in flows saved before it existed. */
  keepWaits: booleanSetting(false),
  /** The Node-RED contextStorage they are saved in; empty: the default store. */
  waitStore: textSetting(),
});
export type ConfigSettings = z.infer<typeof ConfigSettingsSchema>;

/**
 * Each problem as a sentence ("Timeout must be at least 1", "Retries must be a whole number"),
 * with the setting's property as `field`; a message zod wrote itself stays as it is.
 */
export function describeIssues(error: z.ZodError): SentenceVar[] {
  return error.issues.map((issue) => {
    const said = fromMessage(issue.message);
    return said ? { key: said.key, vars: { field: issue.path.join('.'), ...said.vars } } : issue.message;
  });
}

/** What the create, get and prediction completed nodes do with output files: URLs as Replicate sent them (flows saved before files were handled), Buffers beside the prediction, or one message per file. */
const outputFilesSetting = z.preprocess(
  blankToUndefined,
  z.enum(['url', 'buffer', 'message'], { error: says('settings.outputFiles') }).default('url'),
);
export type OutputFilesMode = z.infer<typeof outputFilesSetting>;

export function booleanSetting(fallback: boolean) {
  return z.preprocess(
    (value) => (value === 'true' ? true : value === 'false' ? false : blankToUndefined(value)),
    z.boolean({ error: says('settings.notBoolean') }).default(fallback),
  );
}

/**
 * The latest output images under the node in the editor. Flows saved before lack the field: off,
 * as they were; the editor turns it on for a new node.
 */
const previewSettings = {
  showImages: booleanSetting(false),
  /** The thumbnail's width in the editor, in pixels. */
  imageSize: numberSetting('imageSize', 32, 640, 160, true),
};

/** How a node waits for a prediction to finish: the predict-and-poll workflow's 2 s x 60. */
export const WaitSettingsSchema = z.object({
  pollInterval: numberSetting('pollInterval', 0.1, 3600, 2),
  maxPolls: numberSetting('maxPolls', 1, 100_000, 60, true),
  backoff: booleanSetting(false),
  cancelOnTimeout: booleanSetting(false),
});
export type WaitSettings = z.infer<typeof WaitSettingsSchema>;

/** Where a TypedInput setting's value comes from; flows saved before TypedInputs lack the type: a fixed value. */
export const TEXT_SOURCES = ['str', 'msg', 'flow', 'global', 'env'] as const;
export const INPUT_SOURCES = ['json', 'msg', 'flow', 'global', 'env'] as const;
/** Where one field of the input form comes from when it is not a fixed value (those stay in the default input's JSON). */
export const FIELD_SOURCES = ['msg', 'flow', 'global', 'env', 'jsonata'] as const;
export type TextSource = (typeof TEXT_SOURCES)[number];
export type FieldSource = (typeof FIELD_SOURCES)[number];

function sourceSetting<const T extends readonly [string, ...string[]]>(sources: T) {
  return z.preprocess(blankToUndefined, z.enum(sources, { error: says('settings.source') }).default(sources[0]));
}

export const CreateSettingsSchema = WaitSettingsSchema.extend({
  model: textSetting(),
  modelType: sourceSetting(TEXT_SOURCES),
  deployment: textSetting(),
  deploymentType: sourceSetting(TEXT_SOURCES),
  /** The default input: a JSON object, or (inputType msg, flow...) the name of the property holding one. */
  input: z.preprocess(
    (value) => (typeof value === 'string' ? (value.trim() === '' ? {} : parseJson(value)) : (value ?? {})),
    z.union([z.record(z.string(), z.unknown()), z.string()], { error: says('settings.defaultInput') }),
  ),
  inputType: sourceSetting(INPUT_SOURCES),
  /** The input form's fields that are not fixed values: each read for every message, by name. */
  inputFields: z.preprocess(
    (value) => (typeof value === 'string' ? (value.trim() === '' ? {} : parseJson(value)) : (value ?? {})),
    z.record(z.string(), z.object({ type: z.enum(FIELD_SOURCES), value: z.string().trim().min(1) }), {
      error: says('settings.inputFields'),
    }),
  ),
  webhook: textSetting(),
  webhookType: sourceSetting(TEXT_SOURCES),
  /** The prediction completed node whose URL is the webhook ("Webhook to"); the flow property keeps its old name, `trigger`, for saved flows. */
  trigger: textSetting(),
  webhookEvents: z.preprocess(
    (value) => (typeof value === 'string' ? (value === '' ? [] : value.split(',')) : (value ?? [])),
    z.array(z.enum(['start', 'output', 'logs', 'completed'], { error: says('settings.webhookEvents') }), {
      error: says('settings.webhookEvents'),
    }),
  ),
  wait: z.preprocess(blankToUndefined, z.enum(['none', 'sync', 'complete', 'stream'], { error: says('settings.wait') }).default('none')),
  waitSeconds: numberSetting('waitSeconds', 1, 60, 60, true),
  cancelAfter: textSetting(),
  cancelAfterType: sourceSetting(TEXT_SOURCES),
  /** Check msg.payload against the model's input schema before sending. */
  validateInput: booleanSetting(true),
  /** Stream mode: `logs` events on output 2 before the finished prediction. */
  sendLogs: booleanSetting(false),
  /** Stream mode: chunks arriving within this many ms go out as one message; 0: every chunk. */
  combineMs: numberSetting('combineMs', 0, 60_000, 0, true),
  /** Delete the files uploaded for a prediction once a complete wait has seen it finish. */
  deleteUploads: booleanSetting(true),
  outputFiles: outputFilesSetting,
  ...previewSettings,
})
  .refine((s) => !s.trigger || s.webhookEvents.length === 0 || s.webhookEvents.includes('completed'), {
    error: says('settings.completedNeeded'),
    path: ['webhookEvents'],
  })
  // JSON that is not an object was kept as text by the preprocess: only a property name may be text
  .refine((s) => s.inputType !== 'json' || typeof s.input === 'object', { error: says('settings.defaultInput'), path: ['input'] });
export type CreateSettings = z.infer<typeof CreateSettingsSchema>;

/** The create training node: a trainer, the destination model (created when missing), the training input, how to wait. */
export const TrainingSettingsSchema = z.object({
  trainer: textSetting(),
  trainerType: sourceSetting(TEXT_SOURCES),
  destination: textSetting(),
  destinationType: sourceSetting(TEXT_SOURCES),
  /** Create the destination as a private model when it does not exist. */
  createDestination: booleanSetting(true),
  /** A SKU of GET /hardware for a destination created here. */
  hardware: textSetting('gpu-t4'),
  /** The fixed training inputs (JSON). */
  input: z.preprocess(
    (value) => (typeof value === 'string' ? (value.trim() === '' ? {} : parseJson(value)) : (value ?? {})),
    z.record(z.string(), z.unknown(), { error: says('settings.defaultInput') }),
  ),
  inputFields: CreateSettingsSchema.shape.inputFields,
  wait: z.preprocess(blankToUndefined, z.enum(['none', 'complete'], { error: says('settings.trainingWait') }).default('complete')),
  // a LoRA trains for about 20 minutes: every 10 s for up to 2 hours
  pollInterval: numberSetting('pollInterval', 0.1, 3600, 10),
  maxPolls: numberSetting('maxPolls', 1, 100_000, 720, true),
  /** The prediction completed node whose URL is the webhook, as on create (`trigger`). */
  trigger: textSetting(),
  /** Delete the files uploaded for a training once it has ended. */
  deleteUploads: booleanSetting(true),
});
export type TrainingSettings = z.infer<typeof TrainingSettingsSchema>;

export const GetSettingsSchema = WaitSettingsSchema.extend({
  waitForCompletion: booleanSetting(false),
  splitOutputs: booleanSetting(false),
  outputFiles: outputFilesSetting,
  ...previewSettings,
});
export type GetSettings = z.infer<typeof GetSettingsSchema>;

/** Comma-, space- or newline-separated text, or an array as a flow file may hold it. */
function listOf<T extends z.ZodType>(item: T, error: string) {
  return z.preprocess(
    (value) => (typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : (value ?? [])),
    z.array(item, { error }),
  );
}

const PREDICTION_FIELDS = new Set(['payload', 'predictionId', 'status', 'webhook']);

/** The msg properties in a restore list that the prediction completed node fills from the prediction. */
function predictionFieldsNamed(text: string): string[] {
  return parseFieldList(text).filter((path) => PREDICTION_FIELDS.has(path.split('.')[0]!));
}

export const PredictionCompletedSettingsSchema = z.object({
  url: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() && !value.trim().startsWith('/') ? `/${value.trim()}` : blankToUndefined(value)),
    z
      .string({ error: says('settings.urlRequired') })
      .trim()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, { error: says('settings.urlCharacters') }),
  ),
  auth: z.preprocess(blankToUndefined, z.enum(['signature', 'secret', 'both'], { error: says('settings.verify') }).default('signature')),
  outcomes: listOf(z.enum(TERMINAL_STATUSES, { error: says('settings.outcomes') }), says('settings.outcomes')),
  models: listOf(
    z
      .string({ error: says('settings.models') })
      .regex(/^([\w.-]+\/[\w.-]+(:[0-9a-f]{64})?|[0-9a-f]{64})$/, { error: says('settings.models') }),
    says('settings.models'),
  ),
  progress: booleanSetting(false),
  /** msg properties to restore; the editor proposes topic. Never the ones the prediction fills: restoring them would overwrite it. */
  correlate: textSetting().refine((text) => predictionFieldsNamed(text).length === 0, {
    error: (issue) => says('settings.restoreTaken', { names: predictionFieldsNamed(String(issue.input)).join(', ') }),
  }),
  store: textSetting(),
  expiry: numberSetting('expiry', 0.01, 24 * 90, 24),
  outputFiles: outputFilesSetting,
  ...previewSettings,
});
export type PredictionCompletedSettings = z.infer<typeof PredictionCompletedSettingsSchema>;

export const ListModelsSettingsSchema = z.object({
  query: textSetting(),
  allPages: booleanSetting(false),
  maxPages: numberSetting('maxPages', 1, 10_000, 20, true),
  sortBy: z.preprocess(
    blankToUndefined,
    z.enum(['model_created_at', 'latest_version_created_at'], { error: says('settings.sortBy') }).optional(),
  ),
  sortDirection: z.preprocess(blankToUndefined, z.enum(['asc', 'desc'], { error: says('settings.sortDirection') }).optional()),
});
export type ListModelsSettings = z.infer<typeof ListModelsSettingsSchema>;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // the schema then reports it is not an object
  }
}
