// The emulator's public contract: tests, the dev server, benchmarks and the CLI code against these.

export interface EmulatorAccount {
  token: string;
  username: string;
  name?: string;
  type?: 'user' | 'organization';
  /** 'whsec_' + base64; generated when absent. */
  webhookSecret?: string;
  /** false => prediction creation answers 402. */
  billing?: boolean;
  /** Less than $5 of credit: with rate limits on, creates are limited to 6 a minute with a burst of 1. */
  lowCredit?: boolean;
}

/** A token bucket: `perMinute` requests a minute on average, at most `burst` at once. */
export interface RateLimit {
  perMinute: number;
  burst: number;
}

/** Replicate's limits per account; each defaults to Replicate's figure. */
export interface RateLimits {
  /** Default 600 a minute, burst 600. */
  create?: RateLimit;
  /** Every other API request; default 3000 a minute, burst 3000. */
  other?: RateLimit;
  /** Creates of an account with little credit (lowCredit); default 6 a minute, burst 1. */
  lowCreditCreate?: RateLimit;
}

export interface FixedTiming {
  startingMs: number;
  processingMs: number;
}

export interface EmulatorOptions {
  /** 0 (default) = random free port. */
  port?: number;
  /** The stream origin's port (Replicate's streaming host stands in here); 0 (default) = random free port. */
  streamPort?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  accounts?: EmulatorAccount[];
  /** Default { startingMs: 100, processingMs: 400 }; 'catalog' derives durations from each model's example metrics. */
  timing?: FixedTiming | 'catalog';
  /** Multiplier for 'catalog' timing; default 0.25. */
  timeScale?: number;
  /** Page size of models and other lists; default 25. */
  pageSize?: number;
  /** Delays between webhook delivery attempts after a non-2xx answer or connection error; default [1000, 5000, 30000]. */
  webhookRetryDelaysMs?: number[];
  /** How many recent requests `requests` keeps; default 10000; 0 disables. */
  recordRequests?: number;
  /** Keep each recorded API request's answer (status, content type, body) with it, for contract tests; default false. */
  recordResponses?: boolean;
  /** One line per request when given. */
  log?: (line: string) => void;
  /** How long an uploaded file lives; default a day, as on Replicate. */
  fileExpiryMs?: number;
  /** Seconds after its end until a prediction's input, logs, output and output files are removed; default 3600, as on Replicate. */
  retentionSeconds?: number;
  /** Sync creates (Prefer: wait) name output files by URL (default, as Replicate does) or inline as data: URLs. */
  syncOutputs?: 'url' | 'data-url';
  /** Milliseconds a model stays "starting" on its first prediction (and after 10 idle minutes); default 0. */
  coldStartMs?: number;
  /** Multiplier for how long Prefer: wait holds a response (wait=60 holds 0.6 s at 0.01); default 1. */
  syncWaitScale?: number;
  /** Replicate's rate limits per account (true: Replicate's figures); off by default. */
  rateLimits?: boolean | RateLimits;
}

/** A file uploaded to the emulator's files API, as GET /files/{id} shows it, with its name and bytes. */
export interface EmulatorFile extends Record<string, unknown> {
  id: string;
  filename: string;
  bytes: Buffer;
}

/** A file input as it reached a prediction: inline (a data: URL) or uploaded, with its bytes. */
export interface ReceivedFile {
  /** Where it sits in the input: "image", "images.1". */
  field: string;
  via: 'data-url' | 'upload';
  contentType: string;
  bytes: Buffer;
  fileId?: string;
}

export interface RecordedRequest {
  method: string;
  /** Pathname including /v1. */
  path: string;
  query: Record<string, string>;
  /** As received, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
  /** The answer, with recordResponses (absent for a dropped connection or an event stream). */
  response?: { status: number; contentType: string; body: string };
}

export type WebhookEvent = 'start' | 'output' | 'logs' | 'completed';

export interface WebhookDelivery {
  webhookId: string;
  event: WebhookEvent;
  predictionId: string;
  url: string;
  attempt: number;
  status?: number;
  error?: string;
  at: number;
  body: string;
  headers: Record<string, string>;
}

export type TerminalStatus = 'succeeded' | 'failed' | 'canceled' | 'aborted';
export type PredictionStatus = 'starting' | 'processing' | TerminalStatus;

export interface PredictionOutcome {
  status: TerminalStatus;
  output?: unknown;
  error?: string;
}

/** path is matched against the pathname after the /v1 prefix, e.g. '/predictions'. */
export interface FaultMatch {
  method?: string;
  path?: string | RegExp;
}

export type FaultSpec = { match?: FaultMatch; times?: number } & (
  | { type: 'status'; status: number; body?: unknown; headers?: Record<string, string>; process?: boolean }
  | { type: 'rate-limit'; retryAfterSeconds?: number; via?: 'header' | 'body' | 'detail' }
  | { type: 'delay'; ms: number; after?: boolean }
  | { type: 'drop'; after?: boolean }
  | { type: 'malformed'; status?: number }
  | { type: 'outcome'; status: TerminalStatus; error?: string; output?: unknown }
  | { type: 'timing'; startingMs: number; processingMs: number }
  | { type: 'invalid-prediction' }
  /** An event stream: dropped after `dropAfter` output events; `multiline` frames events with CRLF, one write per line. */
  | { type: 'stream'; dropAfter?: number; multiline?: boolean }
);

export interface EmulatorStats {
  requests: number;
  byRoute: Record<string, number>;
  /** By status. */
  predictions: Record<string, number>;
  webhooksDelivered: number;
  faultsFired: number;
}

export interface Emulator {
  /** Base URL for clients, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  /** Where predictions' event streams are read, without a token: http://127.0.0.1:STREAM_PORT */
  streamOrigin: string;
  requests: RecordedRequest[];
  clearRequests(): void;
  fault(spec: FaultSpec): void;
  clearFaults(): void;
  /** Forget faults, requests, predictions, webhook deliveries and counters. */
  reset(): void;
  /** The account (first by default), with its generated webhookSecret. */
  account(token?: string): Required<EmulatorAccount>;
  /** A new webhook signing secret for the account (first by default); later deliveries use it. */
  rotateWebhookSecret(token?: string): string;
  /** Current state, exactly as GET would return it. */
  prediction(id: string): Record<string, unknown> | undefined;
  /** Force a running prediction to end now (fires webhooks). */
  finish(id: string, outcome: PredictionOutcome): void;
  /** Removes a finished prediction's input, logs, output and output files now, as Replicate does an hour after its end. */
  expire(id: string): void;
  /** The files API's files: every one not deleted (expired ones too), and one by id while it lives. */
  files: {
    list(): Record<string, unknown>[];
    get(id: string): EmulatorFile | undefined;
    /** A signed GET /files/{id}/download URL, valid for `seconds` (default an hour). */
    downloadUrl(id: string, seconds?: number): string;
  };
  /** The file inputs that reached a prediction (its echo), with their bytes. */
  fileInputs(predictionId: string): ReceivedFile[];
  webhooks: {
    deliveries: WebhookDelivery[];
    /** Send the same message again: same webhook-id and body, fresh timestamp and signature. */
    redeliver(webhookId: string): Promise<WebhookDelivery>;
    /** Resolves when no delivery or retry is pending. */
    idle(): Promise<void>;
  };
  stats(): EmulatorStats;
  /** The predictions' event streams. */
  streams: {
    /** Streams open right now. */
    readonly open: number;
    /**
     * When the prediction's first output event was written (performance.timeOrigin + performance.now(), ms)
     * to its nth stream connection (0, the default: the first to connect; each has its own timer).
     */
    firstOutputAt(predictionId: string, connection?: number): number | undefined;
    /** The prediction whose stream is at this path of the stream origin (/v1/streams/...). */
    predictionOf(path: string): string | undefined;
  };
  /** Closes the server and every socket, cancels every timer, pending wait and webhook retry. */
  close(): Promise<void>;
}
