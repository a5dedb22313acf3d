// What the Replicate API (and so the emulator) sends, as the emulator's tests read it: more exact
// than the loose schemas in nodes/core (which accept what Replicate may add or leave out), so a
// test names what it expects a body to hold and its assertions check the rest.

import { signWebhook } from '../../emulator';

let deliveries = 0;
/** The headers of a delivery signed as Replicate signs it (a fresh webhook-id unless one is given). */
export function signedHeaders(
  body: string,
  secret: string,
  { id = `msg_${++deliveries}`, timestamp = Math.floor(Date.now() / 1000) } = {},
) {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, id, timestamp, body),
  };
}

export interface WirePrediction {
  id: string;
  status: string;
  model: string;
  version: string;
  deployment?: string;
  input: Record<string, unknown>;
  output: unknown;
  error: unknown;
  logs: string;
  created_at: string;
  started_at?: string;
  completed_at?: string;
  /** Set when the create had a Cancel-After header. */
  deadline?: string;
  urls: Record<string, string>;
  metrics?: { predict_time: number };
}

export interface WireVersion {
  id: string;
  created_at: string;
  openapi_schema: Record<string, unknown>;
}

export interface WireModel {
  owner: string;
  name: string;
  description: string | null;
  created_at: string;
  run_count: number;
  is_official: boolean;
  latest_version: WireVersion;
  default_example?: { output: unknown };
}

export interface Page<T> {
  next: string | null;
  previous: string | null;
  results: T[];
}

/** An error body: RFC 7807 problem details. */
export interface Problem {
  title?: string;
  detail?: string;
  status: number;
  retry_after?: number;
  invalid_fields?: Array<{ type: string; field: string; description: string }>;
}

/** What a node sent Replicate to create a prediction (the request body the emulator recorded). */
export interface SentCreate {
  version?: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhook_events_filter?: string[];
}

export const sentCreate = (request: { body: string }): SentCreate => JSON.parse(request.body) as SentCreate;
