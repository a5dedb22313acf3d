// The one place that talks HTTP to Replicate: undici Pools per config node (their connections
// are the concurrency limit, their queues hold the rest), bearer auth, a rate limiter in front,
// retries behind, zod-checked answers.
import { Blob } from 'node:buffer';
import { setMaxListeners } from 'node:events';
import { Readable } from 'node:stream';
import { FormData, Pool, Response, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { AbortListeners } from './abort-listeners';
import { ReplicateError, abortedError, errorFromNetwork, errorFromResponse, redactSecrets } from './errors';
import { checkBaseUrl, checkPredictionId, checkVersionId, describeTarget, parseOwnerName, type PredictionTarget } from './identifiers';
import { exchange } from './exchange';
import { RateLimiter } from './rate-limiter';
import {
  createMayHaveHappened,
  DEFAULT_RETRY,
  pauseBeforeRetry,
  retryDelayMs,
  shouldRetry,
  type RequestKind,
  type RetryOptions,
} from './retry-policy';
import {
  AccountSchema,
  DeploymentPageSchema,
  DeploymentSchema,
  FilePageSchema,
  FileSchema,
  HardwareListSchema,
  ModelPageSchema,
  ModelSchema,
  PredictionSchema,
  TrainingSchema,
  VersionPageSchema,
  VersionSchema,
  WebhookSecretSchema,
  type Account,
  type Deployment,
  type DeploymentPage,
  type FilePage,
  type Hardware,
  type Model,
  type ModelPage,
  type ModelVersion,
  type Prediction,
  type ReplicateFile,
  type Training,
  type VersionPage,
  type WebhookEvent,
} from './schemas';
import { errorVar, type SentenceVar } from './sentences';

export interface ClientOptions {
  baseUrl: string;
  token: string;
  /** Per attempt; a `Prefer: wait` create gets the wait on top. */
  timeoutMs?: number;
  /** Requests in flight at once; `Prefer: wait` creates have as many again of their own. */
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

export interface CreateTrainingBody extends CreatePredictionBody {
  /** owner/name of the model the trained version goes to. */
  destination: string;
}

export interface CreateModelBody {
  owner: string;
  name: string;
  visibility: 'public' | 'private';
  /** A SKU from listHardware. */
  hardware: string;
  description?: string;
}

export interface CreateOptions extends CallOptions {
  /** `Prefer: wait=N`: hold the request up to N seconds (1..60) for the result. */
  waitSeconds?: number;
  /** `Cancel-After`: e.g. "5m", "90s", "1h30m". */
  cancelAfter?: string;
}

export interface FileUpload {
  data: Uint8Array;
  filename: string;
  contentType: string;
  /** Kept with the file and shown in GET /files (a JSON object). */
  metadata?: Record<string, unknown>;
}

export interface UploadOptions extends CallOptions {
  /** Bytes of the multipart body sent so far, of about `total`. */
  onProgress?: (sent: number, total: number) => void;
}

/** A request body made anew for each attempt (a stream can be sent once). */
interface StreamedBody {
  body: Readable;
  contentType: string;
}

// Built fresh per call, never by spreading the caller's options into it: in Node 20, a literal
// that starts with a spread and goes on with its own properties costs microseconds each time.
interface RequestSpec<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'QUERY' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  text?: string;
  stream?: () => StreamedBody;
  headers?: Record<string, string>;
  /** Replicate holds the answer (`Prefer: wait`): sent on connections of their own. */
  held?: boolean;
  kind: RequestKind;
  schema: S;
  /** Names the thing asked for, for "could not find ..." messages. */
  what: SentenceVar;
  timeoutMs?: number;
  /** The answer has no body (204): nothing to parse. */
  noContent?: boolean;
}

/** An upload of up to 100 MiB may take minutes on a slow line: each attempt gets this long at least. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json is outside the compiled tree: read where it is, at run time
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
  /**
   * `Prefer: wait` creates hold a connection up to a minute each: on connections of their own, a
   * burst of them cannot keep polls, cancels and the editor's calls waiting.
   */
  private readonly heldPool: Pool;
  private readonly prefix: string;
  private readonly token: string;
  /** Headers of every request, and of every JSON request: built once, shared, never changed. */
  private readonly baseHeaders: Record<string, string>;
  private readonly jsonHeaders: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly retry: RetryOptions;
  private readonly createLimiter: RateLimiter;
  private readonly requestLimiter: RateLimiter;
  private readonly listeners = new AbortListeners();
  private readonly createRoutes = new Map<string, { path: string; what: SentenceVar }>();
  /** Aborted by close(): ends retry waits that no caller's signal bounds. */
  private readonly lifetime = new AbortController();
  private closed = false;

  constructor(options: ClientOptions) {
    this.baseUrl = checkBaseUrl(options.baseUrl);
    this.prefix = this.baseUrl.pathname.replace(/\/+$/, '');
    this.token = options.token;
    this.baseHeaders = { authorization: `Bearer ${this.token}`, 'user-agent': USER_AGENT, accept: 'application/json' };
    this.jsonHeaders = { ...this.baseHeaders, 'content-type': 'application/json' };
    this.timeoutMs = options.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    setMaxListeners(0, this.lifetime.signal); // every request waiting for a retry listens: a 429 storm makes many
    this.createLimiter = new RateLimiter(options.createsPerMinute ?? CLIENT_DEFAULTS.createsPerMinute);
    this.requestLimiter = new RateLimiter(options.requestsPerMinute ?? CLIENT_DEFAULTS.requestsPerMinute);
    const poolOptions = {
      connections: options.maxConcurrency ?? CLIENT_DEFAULTS.maxConcurrency,
      maxResponseSize: MAX_RESPONSE_BYTES,
      connectTimeout: Math.min(this.timeoutMs, 10_000),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    };
    this.pool = new Pool(this.baseUrl.origin, poolOptions);
    this.heldPool = new Pool(this.baseUrl.origin, poolOptions);
  }

  async createPrediction(target: PredictionTarget, body: CreatePredictionBody, options: CreateOptions = {}): Promise<Prediction> {
    let headers: Record<string, string> | undefined;
    if (options.waitSeconds !== undefined) headers = { prefer: `wait=${options.waitSeconds}` };
    if (options.cancelAfter) (headers ??= {})['cancel-after'] = options.cancelAfter;
    const { path, what } = this.createRoute(target);
    return this.request(
      {
        method: 'POST',
        path,
        json: target.kind === 'version' ? { version: checkVersionId(target.version), ...body } : body,
        headers,
        held: options.waitSeconds !== undefined,
        kind: 'create',
        schema: PredictionSchema,
        what,
        timeoutMs: options.waitSeconds !== undefined ? Math.max(this.timeoutMs, (options.waitSeconds + 15) * 1000) : undefined,
      },
      options,
    );
  }

  async getPrediction(id: string, options: CallOptions = {}): Promise<Prediction> {
    const checked = checkPredictionId(id);
    return this.request(
      {
        method: 'GET',
        path: `/predictions/${encodeURIComponent(checked)}`,
        kind: 'read',
        schema: PredictionSchema,
        what: { key: 'what.prediction', vars: { id: checked } },
      },
      options,
    );
  }

  async cancelPrediction(id: string, options: CallOptions = {}): Promise<Prediction> {
    const checked = checkPredictionId(id);
    return this.request(
      {
        method: 'POST',
        path: `/predictions/${encodeURIComponent(checked)}/cancel`,
        kind: 'cancel',
        schema: PredictionSchema,
        what: { key: 'what.prediction', vars: { id: checked } },
      },
      options,
    );
  }

  /** Starts a training of the trainer's version (POST /models/{owner}/{name}/versions/{id}/trainings): a create, never resent. */
  async createTraining(
    trainer: { owner: string; name: string; version: string },
    body: CreateTrainingBody,
    options: CallOptions = {},
  ): Promise<Training> {
    const { owner, name } = parseOwnerName(`${trainer.owner}/${trainer.name}`, { key: 'field.trainer' });
    const version = checkVersionId(trainer.version, { key: 'field.trainer' });
    return this.request(
      {
        method: 'POST',
        path: `/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/versions/${version}/trainings`,
        json: body,
        kind: 'create',
        schema: TrainingSchema,
        what: { key: 'what.trainer', vars: { model: `${owner}/${name}`, version } },
      },
      options,
    );
  }

  async getTraining(id: string, options: CallOptions = {}): Promise<Training> {
    const checked = checkPredictionId(id, { key: 'field.trainingId' });
    return this.request(
      {
        method: 'GET',
        path: `/trainings/${encodeURIComponent(checked)}`,
        kind: 'read',
        schema: TrainingSchema,
        what: { key: 'what.training', vars: { id: checked } },
      },
      options,
    );
  }

  async cancelTraining(id: string, options: CallOptions = {}): Promise<Training> {
    const checked = checkPredictionId(id, { key: 'field.trainingId' });
    return this.request(
      {
        method: 'POST',
        path: `/trainings/${encodeURIComponent(checked)}/cancel`,
        kind: 'cancel',
        schema: TrainingSchema,
        what: { key: 'what.training', vars: { id: checked } },
      },
      options,
    );
  }

  /** The hardware a model can run on (GET /hardware), for models.create. */
  listHardware(options: CallOptions = {}): Promise<Hardware[]> {
    return this.request(
      { method: 'GET', path: '/hardware', kind: 'read', schema: HardwareListSchema, what: { key: 'what.hardwareList' } },
      options,
    );
  }

  /** Creates a model (POST /models): a create, never resent. */
  createModel(body: CreateModelBody, options: CallOptions = {}): Promise<Model> {
    const { owner, name } = parseOwnerName(`${body.owner}/${body.name}`, { key: 'field.destination' });
    return this.request(
      {
        method: 'POST',
        path: '/models',
        json: body,
        kind: 'create',
        schema: ModelSchema,
        what: { key: 'what.model', vars: { model: `${owner}/${name}` } },
      },
      options,
    );
  }

  listModels(
    params: { cursor?: string; sortBy?: 'model_created_at' | 'latest_version_created_at'; sortDirection?: 'asc' | 'desc' } = {},
    options: CallOptions = {},
  ): Promise<ModelPage> {
    return this.request(
      {
        method: 'GET',
        path: '/models',
        query: { cursor: params.cursor, sort_by: params.sortBy, sort_direction: params.sortDirection },
        kind: 'read',
        schema: ModelPageSchema,
        what: { key: 'what.modelList' },
      },
      options,
    );
  }

  searchModels(query: string, params: { cursor?: string } = {}, options: CallOptions = {}): Promise<ModelPage> {
    return this.request(
      {
        method: 'QUERY',
        path: '/models',
        query: { cursor: params.cursor },
        text: query,
        kind: 'read',
        schema: ModelPageSchema,
        what: { key: 'what.modelSearch' },
      },
      options,
    );
  }

  async getModel(ref: string, options: CallOptions = {}): Promise<Model> {
    const { owner, name } = parseOwnerName(ref, { key: 'field.model' });
    return this.request(
      {
        method: 'GET',
        path: `/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`,
        kind: 'read',
        schema: ModelSchema,
        what: { key: 'what.model', vars: { model: `${owner}/${name}` } },
      },
      options,
    );
  }

  async listModelVersions(ref: string, params: { cursor?: string } = {}, options: CallOptions = {}): Promise<VersionPage> {
    const { owner, name } = parseOwnerName(ref, { key: 'field.model' });
    return this.request(
      {
        method: 'GET',
        path: `/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/versions`,
        query: { cursor: params.cursor },
        kind: 'read',
        schema: VersionPageSchema,
        what: { key: 'what.versions', vars: { model: `${owner}/${name}` } },
      },
      options,
    );
  }

  async getModelVersion(ref: string, versionId: string, options: CallOptions = {}): Promise<ModelVersion> {
    const { owner, name } = parseOwnerName(ref, { key: 'field.model' });
    const version = checkVersionId(versionId);
    return this.request(
      {
        method: 'GET',
        path: `/models/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/versions/${version}`,
        kind: 'read',
        schema: VersionSchema,
        what: { key: 'what.version', vars: { version, model: `${owner}/${name}` } },
      },
      options,
    );
  }

  listDeployments(params: { cursor?: string } = {}, options: CallOptions = {}): Promise<DeploymentPage> {
    return this.request(
      {
        method: 'GET',
        path: '/deployments',
        query: { cursor: params.cursor },
        kind: 'read',
        schema: DeploymentPageSchema,
        what: { key: 'what.deploymentList' },
      },
      options,
    );
  }

  async getDeployment(ref: string, options: CallOptions = {}): Promise<Deployment> {
    const { owner, name } = parseOwnerName(ref, { key: 'field.deployment' });
    return this.request(
      {
        method: 'GET',
        path: `/deployments/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`,
        kind: 'read',
        schema: DeploymentSchema,
        what: { key: 'what.deployment', vars: { deployment: `${owner}/${name}` } },
      },
      options,
    );
  }

  async getDefaultWebhookSecret(options: CallOptions = {}): Promise<string> {
    const { key } = await this.request(
      {
        method: 'GET',
        path: '/webhooks/default/secret',
        kind: 'read',
        schema: WebhookSecretSchema,
        what: { key: 'what.signingSecret' },
      },
      options,
    );
    return key;
  }

  getAccount(options: CallOptions = {}): Promise<Account> {
    return this.request(
      {
        method: 'GET',
        path: '/account',
        kind: 'read',
        schema: AccountSchema,
        what: { key: 'what.account' },
      },
      options,
    );
  }

  /**
   * Uploads a file with the files API (POST /files, multipart as undici's FormData writes it).
   * Retried like a read: a file uploaded twice costs nothing but storage until it expires.
   */
  uploadFile(file: FileUpload, options: UploadOptions = {}): Promise<ReplicateFile> {
    const { onProgress } = options;
    return this.request(
      {
        method: 'POST',
        path: '/files',
        stream: () => multipartBody(file, onProgress),
        kind: 'read',
        schema: FileSchema,
        what: { key: 'what.fileUpload', vars: { name: file.filename } },
        timeoutMs: Math.max(this.timeoutMs, UPLOAD_TIMEOUT_MS),
      },
      options,
    );
  }

  /** A page of the account's uploaded files, newest first (GET /files). */
  listFiles(params: { cursor?: string } = {}, options: CallOptions = {}): Promise<FilePage> {
    return this.request(
      {
        method: 'GET',
        path: '/files',
        query: { cursor: params.cursor },
        kind: 'read',
        schema: FilePageSchema,
        what: { key: 'what.fileList' },
      },
      options,
    );
  }

  /** Deletes an uploaded file (DELETE /files/{id}). */
  async deleteFile(id: string, options: CallOptions = {}): Promise<void> {
    await this.request(
      {
        method: 'DELETE',
        path: `/files/${encodeURIComponent(id)}`,
        kind: 'cancel',
        schema: FileSchema,
        what: { key: 'what.file', vars: { id } },
        noContent: true,
      },
      options,
    );
  }

  /**
   * Where a create for the target goes and what it is called in messages, kept by target: made
   * anew for each message they were a dozen strings held by every create waiting its turn.
   */
  private createRoute(target: PredictionTarget): { path: string; what: SentenceVar } {
    const key = target.kind === 'version' ? target.version : `${target.kind}/${target.owner}/${target.name}`;
    let route = this.createRoutes.get(key);
    if (!route) {
      if (this.createRoutes.size >= 100) this.createRoutes.clear(); // messages may name any number of models
      const path =
        target.kind === 'version'
          ? '/predictions'
          : `/${target.kind === 'model' ? 'models' : 'deployments'}/${encodeURIComponent(target.owner)}/${encodeURIComponent(target.name)}/predictions`;
      route = { path, what: describeTarget(target) };
      this.createRoutes.set(key, route);
    }
    return route;
  }

  /**
   * Headers for a request this client does not send itself (a prediction's event stream): the
   * token goes only to the API's own origin, compared as URLs compare them (case, default port);
   * to any other host no Authorization header at all.
   */
  headersFor(url: string | URL, accept: string): Record<string, string> {
    let origin: string | undefined;
    try {
      origin = new URL(url).origin;
    } catch {
      origin = undefined;
    }
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept };
    if (origin === this.baseUrl.origin) headers.authorization = `Bearer ${this.token}`;
    return headers;
  }

  /** Stops every request of this client, queued or in flight; the client cannot be used again. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const reason = abortedError();
    this.lifetime.abort(reason);
    this.createLimiter.close(reason);
    this.requestLimiter.close(reason);
    await Promise.all([this.pool.destroy(reason), this.heldPool.destroy(reason)]).catch(() => undefined);
  }

  private async request<S extends z.ZodType>(spec: RequestSpec<S>, { signal, onRetry }: CallOptions): Promise<z.infer<S>> {
    const limiter = spec.kind === 'create' ? this.createLimiter : this.requestLimiter;
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.closed) throw abortedError();
        if (!limiter.tryAcquire()) await limiter.acquire(signal);
        const options = this.dispatchOptions(spec);
        if (spec.stream) {
          const streamed = spec.stream();
          options.body = streamed.body;
          options.headers = { ...this.baseHeaders, 'content-type': streamed.contentType };
        }
        const answer = await exchange(spec.held ? this.heldPool : this.pool, options, signal, this.listeners);
        if (answer.status < 200 || answer.status >= 300) {
          throw errorFromResponse(answer.status, answer.headers, redactSecrets(answer.text, [this.token]), spec.what);
        }
        if (spec.noContent) return undefined as z.infer<S>;
        return parseBody(spec.schema, answer.text, answer.status);
      } catch (caught) {
        const err = this.toReplicateError(caught, spec, signal);
        if (this.closed || signal?.aborted || !shouldRetry(spec.kind, err, attempt, this.retry)) {
          throw this.explain(err, spec.kind);
        }
        const delayMs = retryDelayMs(err, attempt, this.retry);
        onRetry?.({ attempt: attempt + 1, delayMs, error: err });
        await pauseBeforeRetry(delayMs, signal, this.lifetime.signal);
      }
    }
  }

  private dispatchOptions(spec: RequestSpec<z.ZodType>): Dispatcher.DispatchOptions {
    let body: string | undefined;
    let headers = this.baseHeaders;
    if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers = this.jsonHeaders;
    } else if (spec.text !== undefined) {
      body = spec.text;
      headers = { ...headers, 'content-type': 'text/plain; charset=utf-8' };
    }
    if (spec.headers) headers = { ...headers, ...spec.headers };
    const options: Dispatcher.DispatchOptions = {
      method: spec.method,
      path: this.prefix + spec.path + queryString(spec.query),
      headers,
      body,
    };
    // The pools' own timeouts are the client's; a longer one (a sync create's) goes with its request.
    if (spec.timeoutMs !== undefined) options.headersTimeout = options.bodyTimeout = spec.timeoutMs;
    return options;
  }

  private toReplicateError(caught: unknown, spec: RequestSpec<z.ZodType>, signal: AbortSignal | undefined): ReplicateError {
    if (caught instanceof ReplicateError) return caught;
    if (signal?.aborted || this.closed) return abortedError();
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

/** The multipart body of an upload, as undici's FormData encodes it, counted as it is sent. */
function multipartBody(file: FileUpload, onProgress: UploadOptions['onProgress']): StreamedBody {
  const form = new FormData();
  form.set('content', new Blob([file.data], { type: file.contentType }), file.filename);
  form.set('filename', file.filename);
  form.set('type', file.contentType);
  // a text part, as in Replicate's own curl example (-F 'metadata={...}')
  if (file.metadata) form.set('metadata', JSON.stringify(file.metadata));
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type') ?? 'multipart/form-data';
  const stream = encoded.body!;
  const total = file.data.byteLength;
  async function* counted(): AsyncIterable<Uint8Array> {
    let sent = 0;
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      sent += chunk.byteLength;
      onProgress?.(Math.min(sent, total), total);
      yield chunk;
    }
  }
  return { body: Readable.from(counted(), { objectMode: false }), contentType };
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
