// Zod schemas for what Replicate sends back, after ../shared/reference/replicate-openapi.json.
// Objects are loose: fields Replicate adds later are kept, never stripped.
import { z } from 'zod';

export const PREDICTION_STATUSES = ['starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted'] as const;
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'canceled', 'aborted'] as const;
export const WEBHOOK_EVENTS = ['start', 'output', 'logs', 'completed'] as const;

export const PredictionStatusSchema = z.enum(PREDICTION_STATUSES);
export type PredictionStatus = z.infer<typeof PredictionStatusSchema>;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export function isTerminal(status: PredictionStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * A JSON object, checked in place: z.record() parses every key and value into a copy, which on
 * each prediction made up most of what validating it allocated. JSON keys are strings anyway.
 */
function jsonObject<V = unknown>(values?: { are: (value: unknown) => value is V; expected: string }) {
  return z.custom<Record<string, V>>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && (!values || Object.values(value).every(values.are)),
    { error: `Invalid input: expected ${values ? `an object of ${values.expected}` : 'an object'}` },
  );
}

export const PredictionSchema = z.looseObject({
  id: z.string().min(1),
  status: PredictionStatusSchema,
  model: z.string().optional(),
  version: z.string().optional(),
  input: jsonObject().optional(),
  output: z.unknown().optional(),
  error: z.unknown().optional(),
  logs: z.string().nullish(),
  created_at: z.string().nullish(),
  started_at: z.string().nullish(),
  completed_at: z.string().nullish(),
  urls: jsonObject({ are: (value): value is string => typeof value === 'string', expected: 'strings' }).optional(),
  metrics: jsonObject().nullish(),
  /** Replicate removed its input, output and logs (about an hour after it ended). */
  data_removed: z.boolean().optional(),
});
export type Prediction = z.infer<typeof PredictionSchema>;

/** A training (schemas_training_response): a prediction's fields, with `output` {version, weights} once it has succeeded. */
export const TrainingSchema = PredictionSchema;
export type Training = Prediction;

export const HardwareListSchema = z.array(z.looseObject({ name: z.string(), sku: z.string() }));
export type Hardware = z.infer<typeof HardwareListSchema>[number];

export const VersionSchema = z.looseObject({
  id: z.string().min(1),
  created_at: z.string().nullish(),
  cog_version: z.string().nullish(),
  openapi_schema: jsonObject().nullish(),
});
export type ModelVersion = z.infer<typeof VersionSchema>;

export const ModelSchema = z.looseObject({
  owner: z.string(),
  name: z.string(),
  description: z.string().nullish(),
  url: z.string().optional(),
  visibility: z.string().optional(),
  run_count: z.number().optional(),
  is_official: z.boolean().optional(),
  latest_version: VersionSchema.nullish(),
});
export type Model = z.infer<typeof ModelSchema>;

/**
 * The cursor of a page's `next` URL. Only the cursor is kept: following the URL itself would send
 * the token wherever a response pointed.
 */
export function cursorFromNext(next: string | null | undefined): string | null {
  if (!next) return null;
  try {
    return new URL(next, 'https://api.replicate.com').searchParams.get('cursor');
  } catch {
    return null;
  }
}

function pageOf<T extends z.ZodType>(item: T) {
  return z.looseObject({
    next: z.string().nullish(),
    previous: z.string().nullish(),
    results: z.array(item),
  });
}

export const ModelPageSchema = pageOf(ModelSchema);
export type ModelPage = z.infer<typeof ModelPageSchema>;
export const VersionPageSchema = pageOf(VersionSchema);
export type VersionPage = z.infer<typeof VersionPageSchema>;

export const DeploymentSchema = z.looseObject({
  owner: z.string(),
  name: z.string(),
  current_release: z
    .looseObject({
      model: z.string().optional(),
      version: z.string().optional(),
    })
    .nullish(),
});
export type Deployment = z.infer<typeof DeploymentSchema>;
export const DeploymentPageSchema = pageOf(DeploymentSchema);
export type DeploymentPage = z.infer<typeof DeploymentPageSchema>;

export const AccountSchema = z.looseObject({
  type: z.string(),
  username: z.string(),
  name: z.string().nullish(),
});
export type Account = z.infer<typeof AccountSchema>;

export const WebhookSecretSchema = z.looseObject({
  key: z.string().startsWith('whsec_'),
});
export type WebhookSecret = z.infer<typeof WebhookSecretSchema>;

/** A file uploaded with the files API (schemas_file_response); `urls.get` is what a prediction's input names. */
export const FileSchema = z.looseObject({
  id: z.string().min(1),
  content_type: z.string().optional(),
  size: z.number().optional(),
  urls: z.looseObject({ get: z.string().min(1) }),
  checksums: jsonObject().optional(),
  metadata: z.unknown().optional(),
  created_at: z.string().nullish(),
  expires_at: z.string().nullish(),
});
export type ReplicateFile = z.infer<typeof FileSchema>;
export const FilePageSchema = pageOf(FileSchema);
export type FilePage = z.infer<typeof FilePageSchema>;

/** Replicate's error bodies: RFC 7807 problem details, sometimes only `detail`. */
export const ProblemSchema = z.looseObject({
  title: z.string().optional(),
  detail: z.string().optional(),
  status: z.number().optional(),
  retry_after: z.number().optional(),
  invalid_fields: z
    .array(z.looseObject({ field: z.string().optional(), description: z.string().optional(), type: z.string().optional() }))
    .optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;
