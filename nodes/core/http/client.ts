// The one place that talks HTTP to Replicate: an undici Pool per config node, bearer auth,
// a rate limiter and a concurrency limit in front, retries behind, zod-checked answers.
import { Pool } from 'undici';
import type { z } from 'zod';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { ReplicateError, abortedError, errorFromNetwork, errorFromResponse, redactSecrets } from './errors';
import {
  checkBaseUrl,
  checkPredictionId,
  checkVersionId,
  describeTarget,
  parseOwnerName,
  type PredictionTarget,
} from './identifiers';
import { RateLimiter } from './rate-limiter';
import { createMayHaveHappened, DEFAULT_RETRY, retryDelayMs, shouldRetry, type RequestKind, type RetryOptions } from './retry-policy';
import {
  AccountSchema,
  DeploymentPageSchema,
  DeploymentSchema,
  ModelPageSchema,
  ModelSchema,
  PredictionSchema,
  VersionPageSchema,
  VersionSchema,
  WebhookSecretSchema,
  type Account,
  type Deployment,
  type DeploymentPage,
  type Model,
  type ModelPage,
  type ModelVersion,
  type Prediction,
  type VersionPage,
  type WebhookEvent,
} from './schemas';
import { errorVar, type SentenceVar } from './sentences';

export interface ClientOptions {
  baseUrl: string;
  token: string;
  /** Per attempt; a `Prefer: wait` create gets the wait on top. */
  timeoutMs?: number;
  maxConcurrency?: number;
  createsPerMinute?: number;
  requestsPerMinute?: number;
  retry?: Partial<RetryOptions>;
}

export interface RetryEvent {
  attempt: number;
  delayMs: number;
  error: ReplicateError;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Told before each wait for a retry, so a node can show "retrying in 30 s". */
  onRetry?: (event: RetryEvent) => void;
}

export interface CreatePredictionBody {
  input: Record<string, unknown>;
  webhook?: string;
  webhook_events_filter?: WebhookEvent[];
}

export interface CreateOptions extends CallOptions {
  /** `Prefer: wait=N`: hold the request up to N seconds (1..60) for the result. */
  waitSeconds?: number;
  /** `Cancel-After`: e.g. "5m", "90s", "1h30m". */
  cancelAfter?: string;
}

interface RequestSpec<S extends z.ZodType> extends CallOptions {
  method: 'GET' | 'POST' | 'QUERY';
  path: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
  kind: RequestKind;
  schema: S;
  /** Names the thing asked for, for "could not find ..." messages. */
  what: SentenceVar;
  timeoutMs?: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const PACKAGE = require('../../../../package.json') as { name: string; version: string };
export const USER_AGENT = `${PACKAGE.name}/${PACKAGE.version} node/${process.versions.node}`;

export const CLIENT_DEFAULTS = {
  timeoutMs: 30_000,
  maxConcurrency: 10,
  createsPerMinute: 600,
  requestsPerMinute: 3000,
};

export class ReplicateClient {
  readonly baseUrl: URL;
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly retry: RetryOptions;
  private readonly concurrency: ConcurrencyLimiter;
  private readonly createLimiter: RateLimiter;
  private readonly requestLimiter: RateLimiter;
  private closed = false;

  constructor(options: ClientOptions) {
    this.baseUrl = checkBaseUrl(options.baseUrl);
    this.prefix = this.baseUrl.pathname.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    const connections = options.maxConcurrency ?? CLIENT_DEFAULTS.maxConcurrency;
    this.concurrency = new ConcurrencyLimiter(connections);
    this.createLimiter = new RateLimiter(options.createsPerMinute ?? CLIENT_DEFAULTS.createsPerMinute);
    this.requestLimiter = new RateLimiter(options.requestsPerMinute ?? CLIENT_DEFAULTS.requestsPerMinute);
    this.pool = new Pool(this.baseUrl.origin, {
      connections,
      maxResponseSize: MAX_RESPONSE_BYTES,
      connectTimeout: Math.min(this.timeoutMs, 10_000),
    });
  }

  async createPrediction(target: PredictionTarget, body: CreatePredictionBody, options: CreateOptions = {}): Promise<Prediction> {
    const headers: Record<string, string> = {};
    if (options.waitSeconds !== undefined) headers.prefer = `wait=${options.waitSeconds}`;
    if (options.cancelAfter) headers['cancel-after'] = options.cancelAfter;
    const path =
      target.kind === 'version'
        ? '/predictions'
        : `/${target.kind === 'model' ? 'models' : 'deployments'}/${encodeURIComponent(target.owner)}/${encodeURIComponent(target.name)}/predictions`;
    return this.request({
      ...options,
      method: 'POST',
      path,
      json: target.kind === 'version' ? { version: checkVersionId(target.version), ...body } : body,
      headers,
      kind: 'create',
      schema: PredictionSchema,
      what: describeTarget(target),
      timeoutMs: options.waitSeconds !== undefined ? Math.max(this.timeoutMs, (options.waitSeconds + 15) * 1000) : undefined,
    });
  }

  async getPrediction(id: string, options: CallOptions = {}): Promise<Prediction> {
    const checked = checkPredictionId(id);
    return this.request({
      ...options,
      method: 'GET',
      path: `/predictions/${encodeURIComponent(checked)}`,
      kind: 'read',
      schema: PredictionSchema,
      what: { key: 'what.prediction', vars: { id: checked } },
    });
  }

  async cancelPrediction(id: string, options: CallOptions = {}): Promise<Prediction> {
    const checked = checkPredictionId(id);
    return this.request({
      ...options,
      method: 'POST',
      path: `/predictions/${encodeURIComponent(checked)}/cancel`,
      kind: 'cancel',
      schema: PredictionSchema,
      what: { key: 'what.prediction', vars: { id: checked } },
    });
  }

  listModels(
    params: { cursor?: string; sortBy?: 'model_created_at' | 'latest_version_created_at'; sortDirection?: 'asc' | 'desc' } = {},
    options: CallOptions = {},
  ): Promise<ModelPage> {
    return this.request({
      ...options,
      method: 'GET',
      path: '/models',
      query: { cursor: params.cursor, sort_by: params.sortBy, sort_direction: params.sortDirection },
      kind: 'read',
      schema: ModelPageSchema,
      what: { key: 'what.modelList' },
    });
  }

  searchModels(query: string, params: { cursor?: string } = {}, options: CallOptions = {}): Promise<ModelPage> {
    return this.request({
      ...options,
      method: 'QUERY',
      path: '/models',
      query: { cursor: params.cursor },
      text: query,
      kind: 'read',
      schema: ModelPageSchema,
      what: { key: 'what.modelSearch' },
    });
  }

  async getModel(ref: string, options: CallOptions = {}): Promise<Model> {
    const { owner, name } = parseOwnerName(ref, { key: 'field.model' });
    return this.request({
      ...options,
      method: 'GET',
      path: `/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`,
      kind: 'read',
      schema: ModelSchema,
      what: { key: 'what.model', vars: { model: `${owner}/${name}` } },
    });
  }

  async listModelVersions(ref: string, params: { cursor?: string } = {}, options: CallOptions = {}): Promise<VersionPage> {
    const { owner, name } = parseOwnerName(ref, { key: 'field.model' });
    return this.request({
      ...options,
      method: 'GET',
      path: `/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/versions`,
      query: { cursor: params.cursor },
      kind: 'read',
      schema: VersionPageSchema,
      what: { key: 'what.versions', vars: { model: `${owner}/${name}` } },
    });
  }

  async getModelVersion(ref: string, versionId: string, options: CallOptions = {}): Promise<ModelVersion> {
    const { owner, name } = parseOwnerName(ref, { key: 'field.model' });
    const version = checkVersionId(versionId);
    return this.request({
      ...options,
      method: 'GET',
      path: `/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/versions/${version}`,
      kind: 'read',
      schema: VersionSchema,
      what: { key: 'what.version', vars: { version, model: `${owner}/${name}` } },
    });
  }

  listDeployments(params: { cursor?: string } = {}, options: CallOptions = {}): Promise<DeploymentPage> {
    return this.request({
      ...options,
      method: 'GET',
      path: '/deployments',
      query: { cursor: params.cursor },
      kind: 'read',
      schema: DeploymentPageSchema,
      what: { key: 'what.deploymentList' },
    });
  }

  async getDeployment(ref: string, options: CallOptions = {}): Promise<Deployment> {
    const { owner, name } = parseOwnerName(ref, { key: 'field.deployment' });
    return this.request({
      ...options,
      method: 'GET',
      path: `/deployments/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`,
      kind: 'read',
      schema: DeploymentSchema,
      what: { key: 'what.deployment', vars: { deployment: `${owner}/${name}` } },
    });
  }

  async getDefaultWebhookSecret(options: CallOptions = {}): Promise<string> {
    const { key } = await this.request({
      ...options,
      method: 'GET',
      path: '/webhooks/default/secret',
      kind: 'read',
      schema: WebhookSecretSchema,
      what: { key: 'what.signingSecret' },
    });
    return key;
  }

  getAccount(options: CallOptions = {}): Promise<Account> {
    return this.request({
      ...options,
      method: 'GET',
      path: '/account',
      kind: 'read',
      schema: AccountSchema,
      what: { key: 'what.account' },
    });
  }

  /** Stops every request of this client, queued or in flight; the client cannot be used again. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const reason = abortedError();
    this.concurrency.close(reason);
    this.createLimiter.close(reason);
    this.requestLimiter.close(reason);
    await this.pool.destroy(reason).catch(() => undefined);
  }

  private async request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(spec);
      } catch (caught) {
        const err = this.toReplicateError(caught, spec);
        if (this.closed || spec.signal?.aborted || !shouldRetry(spec.kind, err, attempt, this.retry)) {
          throw this.explain(err, spec.kind);
        }
        const delayMs = retryDelayMs(err, attempt, this.retry);
        spec.onRetry?.({ attempt: attempt + 1, delayMs, error: err });
        await sleep(delayMs, spec.signal).catch(() => {
          throw abortedError();
        });
      }
    }
  }

  private async attempt<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>> {
    if (this.closed) throw abortedError();
    const limiter = spec.kind === 'create' ? this.createLimiter : this.requestLimiter;
    await limiter.acquire(spec.signal);
    return this.concurrency.run(async () => {
      const timeoutMs = spec.timeoutMs ?? this.timeoutMs;
      const headers: Record<string, string> = {
        authorization: `Bearer ${this.token}`,
        'user-agent': USER_AGENT,
        accept: 'application/json',
        ...spec.headers,
      };
      let body: string | undefined;
      if (spec.json !== undefined) {
        body = JSON.stringify(spec.json);
        headers['content-type'] = 'application/json';
      } else if (spec.text !== undefined) {
        body = spec.text;
        headers['content-type'] = 'text/plain; charset=utf-8';
      }
      const response = await this.pool.request({
        method: spec.method,
        path: this.prefix + spec.path + queryString(spec.query),
        headers,
        body,
        signal: spec.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await response.body.text();
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw errorFromResponse(response.statusCode, response.headers, redactSecrets(text, [this.token]), spec.what);
      }
      return parseBody(spec.schema, text, response.statusCode);
    }, spec.signal);
  }

  private toReplicateError(caught: unknown, spec: RequestSpec<z.ZodType>): ReplicateError {
    if (caught instanceof ReplicateError) return caught;
    if (spec.signal?.aborted || this.closed) return abortedError();
    return errorFromNetwork(caught, this.baseUrl.host, spec.timeoutMs ?? this.timeoutMs);
  }

  /** A create that failed in a way that may have started it says so, and why it was not resent. */
  private explain(err: ReplicateError, kind: RequestKind): ReplicateError {
    if (kind === 'create' && createMayHaveHappened(err)) {
      return err.withSentence('response.mayHaveBeenCreated', { error: errorVar(err) });
    }
    return err;
  }
}

function queryString(query: Record<string, string | undefined> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

function parseBody<S extends z.ZodType>(schema: S, text: string, status: number): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ReplicateError('response.notJson', { status }, { code: 'bad-response', status, retryable: true });
  }
  const checked = schema.safeParse(json);
  if (!checked.success) {
    const problems = checked.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
      .join('; ');
    // zod's own words about Replicate's JSON, like Replicate's own detail, stay as they are
    throw new ReplicateError('response.notUnderstood', { status, problems }, { code: 'bad-response', status, retryable: true });
  }
  // The object exactly as Replicate sent it, unknown fields and all.
  return json as z.infer<S>;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts; leaves no timer behind. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
