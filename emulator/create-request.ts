// Reading a prediction-creation request: the JSON body (schemas_version_prediction_request or
// schemas_prediction_request, both additionalProperties: false) and the Prefer and Cancel-After headers.
import { validateBody } from './input-validation';
import { badRequest, validationFailed, type ApiResponse, type InvalidField } from './responses';
import type { WebhookEvent } from './types';

export const WEBHOOK_EVENTS: readonly WebhookEvent[] = ['start', 'output', 'logs', 'completed'];

export interface CreateBody {
  version?: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhookEventsFilter?: WebhookEvent[];
}

const bodyProperties = {
  input: { type: 'object' },
  stream: { type: 'boolean' },
  webhook: { type: 'string' },
  webhook_events_filter: { type: 'array', items: { type: 'string', enum: WEBHOOK_EVENTS } },
};

const versionRequestSchema = {
  type: 'object',
  required: ['version', 'input'],
  additionalProperties: false,
  properties: { ...bodyProperties, version: { type: 'string' } },
};

const modelRequestSchema = { type: 'object', required: ['input'], additionalProperties: false, properties: bodyProperties };

type Parsed<T> = { ok: true; value: T } | { ok: false; response: ApiResponse };

/** withVersion: POST /predictions (version in the body); otherwise the model or deployment is in the path. */
export function parseCreateBody(raw: string, withVersion: boolean): Parsed<CreateBody> {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { ok: false, response: badRequest('Invalid JSON', 'The request body is not valid JSON.') };
  }
  const problems = validateBody(body, withVersion ? versionRequestSchema : modelRequestSchema);
  if (problems.length > 0) return { ok: false, response: validationFailed(problems) };
  const fields = body as { version?: string; input: Record<string, unknown>; webhook?: string; webhook_events_filter?: WebhookEvent[] };
  const webhookProblem = fields.webhook === undefined ? undefined : checkWebhookUrl(fields.webhook);
  if (webhookProblem) return { ok: false, response: validationFailed([webhookProblem]) };
  return {
    ok: true,
    value: {
      version: fields.version,
      input: fields.input,
      webhook: fields.webhook,
      webhookEventsFilter: fields.webhook_events_filter,
    },
  };
}

function checkWebhookUrl(webhook: string): InvalidField | undefined {
  let protocol = '';
  try {
    protocol = new URL(webhook).protocol;
  } catch {
    // reported below
  }
  if (protocol === 'http:' || protocol === 'https:') return undefined;
  return { type: 'format', field: 'webhook', description: "Does not match format 'uri'" };
}

/** Seconds to hold the response (Prefer: wait or wait=N, N in 1..60), undefined when not asked. */
export function parsePrefer(header: string | undefined): Parsed<number | undefined> {
  if (header === undefined) return { ok: true, value: undefined };
  const match = /^wait(?:=(\d+))?$/.exec(header.trim());
  const seconds = match ? (match[1] === undefined ? 60 : Number(match[1])) : NaN;
  if (Number.isInteger(seconds) && seconds >= 1 && seconds <= 60) return { ok: true, value: seconds };
  return {
    ok: false,
    response: badRequest(
      'Invalid Prefer header',
      'The Prefer header must be "wait" or "wait=n" where n is a number of seconds between 1 and 60.',
    ),
  };
}

/** Milliseconds from creation to the deadline ("30s", "5m", "1h30m45s", bare seconds), undefined when not asked. */
export function parseCancelAfter(header: string | undefined): Parsed<number | undefined> {
  if (header === undefined) return { ok: true, value: undefined };
  const value = header.trim();
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
  let seconds = NaN;
  if (/^\d+$/.test(value)) seconds = Number(value);
  else if (match && value !== '') seconds = Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
  if (Number.isNaN(seconds))
    return {
      ok: false,
      response: badRequest('Invalid Cancel-After header', `"${value}" is not a duration such as "30s", "5m" or "1h30m45s".`),
    };
  if (seconds < 5)
    return { ok: false, response: badRequest('Invalid Cancel-After header', 'The minimum allowed Cancel-After duration is 5 seconds.') };
  return { ok: true, value: seconds * 1000 };
}
