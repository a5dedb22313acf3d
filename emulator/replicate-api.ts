// The Replicate HTTP API under /v1, as described by Replicate's OpenAPI document.
import type { IncomingHttpHeaders } from 'node:http';
import { accountView, type Account, type Accounts } from './accounts';
import { fullName, type Catalog, type CatalogModel, type SortBy, type SortDirection } from './catalog';
import { parseCancelAfter, parseCreateBody, parsePrefer } from './create-request';
import type { Collections } from './collections';
import type { DeploymentStore } from './deployments';
import type { FaultQueue } from './faults';
import { fileAnswer, fileView, type FileStore } from './files-api';
import { madeOutput } from './made-outputs';
import { inlineOutput, localOutput, type PredictionFiles } from './output-files';
import { validateInput } from './input-validation';
import { offsetPage, pageBody, pageLink, readCursor } from './pagination';
import type { PredictionLifecycle } from './prediction-lifecycle';
import { isTerminal, predictionId, snapshot, type PredictionRecord, type PredictionStore } from './predictions';
import type { RateLimiter } from './rate-limits';
import {
  badRequest,
  insufficientCredit,
  invalidVersion,
  json,
  notFound,
  unauthenticated,
  validationFailed,
  type ApiResponse,
} from './responses';
import { streamKindOf, type StreamHub } from './streams';
import type { Timers } from './timers';
import { HARDWARE } from './account-models';
import { cancelTraining, createTraining, getTraining, listTrainings, type TrainingContext } from './trainings';
import type { FixedTiming } from './types';

export interface EmulatorContext {
  accounts: Accounts;
  catalog: Catalog;
  predictions: PredictionStore;
  lifecycle: PredictionLifecycle;
  faults: FaultQueue;
  files: FileStore;
  pageSize: number;
  timing: FixedTiming | 'catalog';
  timeScale: number;
  deployments: DeploymentStore;
  collections: Collections;
  /** Off unless asked for. */
  rateLimiter?: RateLimiter;
  retentionMs: number;
  syncOutputs: 'url' | 'data-url';
  syncWaitScale: number;
  /** Extra "starting" time of a cold model, and when each model last got a prediction. */
  coldStart: { ms: number; lastCreatedAt: Map<string, number> };
  /** The files a prediction's output names, for GET /outputs/<id>/<name>. */
  outputFiles: PredictionFiles;
  streams: { hub: StreamHub; timers: Timers };
  /** Trainings, and the models accounts create for them. */
  trainings: TrainingContext;
}

/** A model idle this long is cold again. */
const COLD_AFTER_MS = 10 * 60 * 1000;

export interface ApiRequest {
  method: string;
  /** Pathname after /v1. */
  path: string;
  /** The full URL as the client addressed it (its host, so links work from wherever it connected). */
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's bytes, for uploads (POST /files). */
  raw?: Buffer;
}

type Handler = (ctx: EmulatorContext, req: ApiRequest, account: Account, params: string[]) => ApiResponse | Promise<ApiResponse>;

interface Route {
  method: string;
  pattern: RegExp;
  /** Route template, for stats. */
  name: string;
  handle: Handler;
}

const SEGMENT = '([^/]+)';
const route = (method: string, template: string, handle: Handler): Route => ({
  method,
  name: `${method} ${template}`,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, SEGMENT)}$`),
  handle,
});

const routes: Route[] = [
  route('GET', '/account', (_ctx, _req, account) => json(200, accountView(account))),
  route('GET', '/webhooks/default/secret', (_ctx, _req, account) => json(200, { key: account.webhookSecret })),
  route('GET', '/models', listModels),
  route('QUERY', '/models', searchModels),
  route('POST', '/models', (ctx, req, account) => ctx.trainings.models.create(ctx.catalog, account, req.body)),
  route('GET', '/hardware', () => json(200, HARDWARE)),
  route('GET', '/models/{owner}/{name}', (ctx, _req, account, [owner = '', name = '']) => {
    const own = ctx.trainings.models.get(owner, name, account);
    if (own) return json(200, ctx.trainings.models.view(own, Date.now()));
    const model = ctx.catalog.model(owner, name);
    return model ? { status: 200, body: ctx.catalog.json(model), contentType: 'application/json' } : notFound();
  }),
  route('GET', '/models/{owner}/{name}/versions', (ctx, req, account, [owner = '', name = '']) => {
    const cursor = readCursor(req.url.searchParams);
    if ('response' in cursor) return cursor.response;
    const own = ctx.trainings.models.get(owner, name, account);
    if (own) return json(200, offsetPage(ctx.trainings.models.versionList(own, Date.now()), cursor.position, ctx.pageSize, req.url));
    const model = ctx.catalog.model(owner, name);
    if (!model) return notFound();
    return json(200, offsetPage(model.latest_version ? [model.latest_version] : [], cursor.position, ctx.pageSize, req.url));
  }),
  route('GET', '/models/{owner}/{name}/versions/{id}', (ctx, _req, account, [owner = '', name = '', id = '']) => {
    const trained = ctx.trainings.models.runnable(account, owner, name, id, Date.now())?.latest_version;
    if (trained) return json(200, trained);
    const version = ctx.catalog.model(owner, name)?.latest_version;
    return version?.id === id ? json(200, version) : notFound();
  }),
  route('GET', '/models/{owner}/{name}/examples', (ctx, req, _account, [owner = '', name = '']) => {
    const model = ctx.catalog.model(owner, name);
    if (!model) return notFound();
    const cursor = readCursor(req.url.searchParams);
    if ('response' in cursor) return cursor.response;
    return json(200, offsetPage(model.default_example ? [exampleView(model)] : [], cursor.position, ctx.pageSize, req.url));
  }),
  route('GET', '/models/{owner}/{name}/readme', (ctx, _req, _account, [owner = '', name = '']) => {
    const model = ctx.catalog.model(owner, name);
    if (!model) return notFound();
    return { status: 200, body: readmeOf(model), contentType: 'text/plain; charset=utf-8' };
  }),
  route('POST', '/models/{owner}/{name}/predictions', (ctx, req, account, [owner = '', name = '']) => {
    const model = ctx.catalog.model(owner, name);
    if (!model?.is_official) return notFound();
    return createPrediction(ctx, req, account, { model, hidden: true });
  }),
  route('GET', '/deployments', (ctx, req, account) => {
    const cursor = readCursor(req.url.searchParams);
    if ('response' in cursor) return cursor.response;
    return json(200, offsetPage(ctx.deployments.list(account), cursor.position, ctx.pageSize, req.url));
  }),
  route('POST', '/deployments', (ctx, req, account) => ctx.deployments.create(account, req.body)),
  route('GET', '/deployments/{owner}/{name}', (ctx, _req, account, [owner = '', name = '']) => {
    const deployment = ctx.deployments.get(account, owner, name);
    return deployment ? json(200, deployment) : notFound();
  }),
  route('PATCH', '/deployments/{owner}/{name}', (ctx, req, account, [owner = '', name = '']) =>
    ctx.deployments.update(account, owner, name, req.body),
  ),
  route('DELETE', '/deployments/{owner}/{name}', (ctx, _req, account, [owner = '', name = '']) =>
    ctx.deployments.delete(account, owner, name),
  ),
  route('POST', '/deployments/{owner}/{name}/predictions', (ctx, req, account, [owner = '', name = '']) => {
    const model = ctx.deployments.modelOf(account, owner, name);
    if (!model) return notFound();
    return createPrediction(ctx, req, account, { model, hidden: false, deployment: `${owner}/${name}` });
  }),
  route('GET', '/collections', (ctx, req) => {
    const cursor = readCursor(req.url.searchParams);
    if ('response' in cursor) return cursor.response;
    return json(200, offsetPage(ctx.collections.list(), cursor.position, ctx.pageSize, req.url));
  }),
  route('GET', '/collections/{slug}', (ctx, _req, _account, [slug = '']) => {
    const collection = ctx.collections.get(slug);
    if (!collection) return notFound();
    const head = JSON.stringify(collection.head).slice(0, -1);
    const models = collection.models.map((model) => ctx.catalog.json(model)).join(',');
    return { status: 200, body: `${head},"models":[${models}]}`, contentType: 'application/json' };
  }),
  route('GET', '/search', searchAll),
  route('POST', '/files', async (ctx, req, account) => {
    const created = await ctx.files.create(
      account.username,
      header(req.headers, 'content-type'),
      req.raw ?? Buffer.from(req.body),
      req.url.origin,
    );
    return 'id' in created ? fileAnswer(created, 201) : created;
  }),
  route('GET', '/files', (ctx, req, account) => {
    const cursor = readCursor(req.url.searchParams);
    if ('response' in cursor) return cursor.response;
    return json(200, offsetPage(ctx.files.list(account.username).map(fileView), cursor.position, ctx.pageSize, req.url));
  }),
  route('GET', '/files/{id}', (ctx, _req, account, [id = '']) => {
    const file = ctx.files.get(id);
    return fileAnswer(file?.owner === account.username ? file : undefined);
  }),
  route('DELETE', '/files/{id}', (ctx, _req, account, [id = '']) => {
    const file = ctx.files.get(id);
    if (file?.owner !== account.username) return notFound();
    ctx.files.delete(id);
    return { status: 204, body: '', contentType: 'text/plain' };
  }),
  route('POST', '/models/{owner}/{name}/versions/{id}/trainings', createTraining),
  route('GET', '/trainings', listTrainings),
  route('GET', '/trainings/{id}', getTraining),
  route('POST', '/trainings/{id}/cancel', cancelTraining),
  route('GET', '/predictions', listPredictions),
  route('POST', '/predictions', (ctx, req, account) => createPrediction(ctx, req, account, undefined)),
  route('GET', '/predictions/{id}', (ctx, _req, account, [id = '']) => {
    const prediction = ownPrediction(ctx, account, id);
    return prediction ? json(200, snapshot(prediction, Date.now())) : notFound();
  }),
  route('POST', '/predictions/{id}/cancel', (ctx, _req, account, [id = '']) => {
    const prediction = ownPrediction(ctx, account, id);
    if (!prediction) return notFound();
    const now = Date.now();
    ctx.lifecycle.forceEnd(prediction, { status: 'canceled' }, now);
    return json(200, snapshot(prediction, now));
  }),
];

function findRoute(method: string, path: string): { route: Route; params: string[] } | undefined {
  for (const candidate of routes) {
    if (candidate.method !== method) continue;
    const match = candidate.pattern.exec(path);
    if (match) return { route: candidate, params: match.slice(1).map(decodeSegment) };
  }
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The route template a request goes to ("POST /predictions"), or "unmatched". */
export function routeName(method: string, path: string): string {
  return findRoute(method, path)?.route.name ?? 'unmatched';
}

const SIGNED_DOWNLOAD = /^\/files\/([^/]+)\/download$/;

export async function handleApi(ctx: EmulatorContext, req: ApiRequest): Promise<ApiResponse> {
  // a download URL carries its own signature instead of a token
  const download = req.method === 'GET' ? SIGNED_DOWNLOAD.exec(req.path) : null;
  if (download) return ctx.files.download(decodeSegment(download[1]!), req.url.searchParams);
  const account = ctx.accounts.authenticate(req.headers.authorization);
  if (!account) return unauthenticated();
  const found = findRoute(req.method, req.path);
  const isCreate = req.method === 'POST' && req.path.endsWith('/predictions');
  const throttled = ctx.rateLimiter?.take(account.username, isCreate, account.lowCredit);
  if (throttled) return throttled;
  if (!found) return notFound();
  return found.route.handle(ctx, req, account, found.params);
}

function ownPrediction(ctx: EmulatorContext, account: Account, id: string): PredictionRecord | undefined {
  const prediction = ctx.predictions.get(id);
  return prediction?.owner === account.username ? prediction : undefined;
}

const SORT_BY: readonly SortBy[] = ['model_created_at', 'latest_version_created_at'];
const SORT_DIRECTION: readonly SortDirection[] = ['asc', 'desc'];

function listModels(ctx: EmulatorContext, req: ApiRequest): ApiResponse {
  const sortBy = req.url.searchParams.get('sort_by') ?? 'latest_version_created_at';
  const direction = req.url.searchParams.get('sort_direction') ?? 'desc';
  if (!SORT_BY.includes(sortBy as SortBy))
    return badRequest('Invalid sort_by', `sort_by must be one of ${SORT_BY.join(', ')}; got "${sortBy}".`);
  if (!SORT_DIRECTION.includes(direction as SortDirection))
    return badRequest('Invalid sort_direction', `sort_direction must be one of ${SORT_DIRECTION.join(', ')}; got "${direction}".`);
  return modelPage(ctx, req, ctx.catalog.sorted(sortBy as SortBy, direction as SortDirection));
}

// QUERY /models: the body is the search text; the client sends the same body again with `next`.
function searchModels(ctx: EmulatorContext, req: ApiRequest): ApiResponse {
  return modelPage(ctx, req, ctx.catalog.search(searchText(req.body)));
}

/** The official JS client sends its query JSON-encoded ("flux" with the quotes): Replicate takes it as the text. */
function searchText(body: string): string {
  if (!body.startsWith('"')) return body;
  try {
    const text: unknown = JSON.parse(body);
    return typeof text === 'string' ? text : body;
  } catch {
    return body;
  }
}

const SEARCH_LIMIT = { default: 20, max: 50 };

function searchAll(ctx: EmulatorContext, req: ApiRequest): ApiResponse {
  const query = req.url.searchParams.get('query');
  if (query === null || query.trim() === '') return badRequest('Invalid query', 'query is required.');
  const limitText = req.url.searchParams.get('limit');
  const limit = limitText === null ? SEARCH_LIMIT.default : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_LIMIT.max)
    return badRequest('Invalid limit', `limit must be a whole number from 1 to ${SEARCH_LIMIT.max}.`);
  const found = ctx.collections.search(query, limit);
  const models = found.models.map((model, i) => {
    const metadata = JSON.stringify({ generated_description: model.description ?? null, score: 1 - i / (limit + 1), tags: [] });
    return `{"model":${ctx.catalog.json(model)},"metadata":${metadata}}`;
  });
  const rest = JSON.stringify({ collections: found.collections, pages: [] }).slice(1);
  return { status: 200, body: `{"query":${JSON.stringify(query)},"models":[${models.join(',')}],${rest}`, contentType: 'application/json' };
}

/** A model's example prediction, as GET /models/{owner}/{name}/examples lists it. */
function exampleView(model: CatalogModel): Record<string, unknown> {
  const example = model.default_example as Record<string, unknown>;
  const id = typeof example.id === 'string' ? example.id : 'example';
  const url = `https://api.replicate.com/v1/predictions/${id}`;
  return {
    logs: '',
    data_removed: false,
    error: null,
    input: {},
    output: null,
    ...example,
    model: fullName(model),
    source: 'web',
    urls: { get: url, cancel: `${url}/cancel`, web: `https://replicate.com/p/${id}` },
  };
}

function readmeOf(model: CatalogModel): string {
  const links = [model.github_url, model.paper_url, model.license_url].filter((link): link is string => typeof link === 'string');
  return [`# ${fullName(model)}`, '', model.description ?? '', '', ...links.map((link) => `- ${link}`), ''].join('\n');
}

function modelPage(ctx: EmulatorContext, req: ApiRequest, models: readonly CatalogModel[]): ApiResponse {
  const cursor = readCursor(req.url.searchParams);
  if ('response' in cursor) return cursor.response;
  const page = offsetPage(models, cursor.position, ctx.pageSize, req.url);
  const results = page.results.map((model) => ctx.catalog.json(model));
  return { status: 200, body: pageBody(page.next, page.previous, results), contentType: 'application/json' };
}

function listPredictions(ctx: EmulatorContext, req: ApiRequest, account: Account): ApiResponse {
  const cursor = readCursor(req.url.searchParams);
  if ('response' in cursor) return cursor.response;
  const page = ctx.predictions.page(account.username, ctx.pageSize, cursor.position);
  const now = Date.now();
  return json(200, {
    next: pageLink(req.url, page.olderThan === undefined ? undefined : { olderThan: page.olderThan }),
    previous: pageLink(req.url, page.newerThan === undefined ? undefined : { newerThan: page.newerThan }),
    results: page.results.map((p) => snapshot(p, now)),
  });
}

interface Target {
  model: CatalogModel;
  /** Run as an official model: the prediction's version reads "hidden". */
  hidden: boolean;
  deployment?: string;
}

const VERSION_ID = /^[0-9a-f]{64}$/;
const MODEL_NAME = /^([^/:\s]+)\/([^/:\s]+)$/;
const MODEL_VERSION = /^([^/:\s]+)\/([^/:\s]+):([0-9a-f]{64})$/;

/** What a POST /predictions `version` names: a version id, owner/name:id, or an official owner/name. */
function resolveVersion(catalog: Catalog, version: string): Target | undefined {
  if (VERSION_ID.test(version)) {
    const model = catalog.modelOfVersion(version);
    return model && { model, hidden: false };
  }
  const pinned = MODEL_VERSION.exec(version);
  if (pinned) {
    const model = catalog.model(pinned[1] ?? '', pinned[2] ?? '');
    return model && model.latest_version?.id === pinned[3] ? { model, hidden: false } : undefined;
  }
  const named = MODEL_NAME.exec(version);
  const model = named ? catalog.model(named[1] ?? '', named[2] ?? '') : undefined;
  return model?.is_official ? { model, hidden: true } : undefined;
}

/** A version a training pushed to one of the account's models (by id, or owner/name:id). */
function trainedVersion(ctx: EmulatorContext, account: Account, version: string): Target | undefined {
  const now = Date.now();
  const pinned = MODEL_VERSION.exec(version);
  const model = pinned
    ? ctx.trainings.models.runnable(account, pinned[1] ?? '', pinned[2] ?? '', pinned[3] ?? '', now)
    : VERSION_ID.test(version)
      ? ctx.trainings.models.runnableById(account, version, now)
      : undefined;
  return model && { model, hidden: false };
}

async function createPrediction(
  ctx: EmulatorContext,
  req: ApiRequest,
  account: Account,
  pathTarget: Target | undefined,
): Promise<ApiResponse> {
  const prefer = parsePrefer(header(req.headers, 'prefer'));
  if (!prefer.ok) return prefer.response;
  const cancelAfter = parseCancelAfter(header(req.headers, 'cancel-after'));
  if (!cancelAfter.ok) return cancelAfter.response;
  const body = parseCreateBody(req.body, pathTarget === undefined);
  if (!body.ok) return body.response;
  const target =
    pathTarget ?? resolveVersion(ctx.catalog, body.value.version ?? '') ?? trainedVersion(ctx, account, body.value.version ?? '');
  const version = target?.model.latest_version;
  if (!target || !version) return invalidVersion();
  if (!account.billing) return insufficientCredit();
  const invalid = validateInput(body.value.input, version.openapi_schema);
  if (invalid.length > 0) return validationFailed(invalid);

  const outcome = ctx.faults.takeCreationFault('outcome', req.method, req.path);
  const timing = ctx.faults.takeCreationFault('timing', req.method, req.path) ?? durations(ctx, target.model);
  const now = Date.now();
  const id = predictionId();
  const example = localOutput(target.model.default_example?.output ?? `Emulated output of ${fullName(target.model)}`, req.url.origin, id);
  const made = madeOutput(target.model, body.value.input, example, ctx.files);
  const streamKind = streamKindOf(outcome?.output !== undefined ? outcome.output : made.output);
  const prediction = ctx.predictions.create(
    {
      id,
      owner: account.username,
      model: fullName(target.model),
      version: target.hidden ? 'hidden' : version.id,
      input: body.value.input,
      webhook: body.value.webhook,
      webhookEventsFilter: body.value.webhookEventsFilter,
      deployment: target.deployment,
      origin: req.url.origin,
      streamUrl: streamKind && ctx.streams.hub.newStreamUrl(req.url, streamKind),
      startingMs: timing.startingMs + coldStartOf(ctx, target.model, now),
      processingMs: timing.processingMs,
      cancelAfterMs: cancelAfter.value,
      eventualOutput: made.output,
      madeFiles: made.files,
      retentionMs: ctx.retentionMs,
      outcome: outcome && { status: outcome.status, output: outcome.output, error: outcome.error },
    },
    now,
  );
  ctx.lifecycle.created(prediction);
  ctx.streams.hub.register(prediction);
  if (prefer.value === undefined) return json(201, snapshot(prediction, now));
  await ctx.lifecycle.waitForEnd(prediction, prefer.value * 1000 * ctx.syncWaitScale);
  const later = Date.now();
  if (!isTerminal(prediction, later)) return json(202, snapshot(prediction, later));
  const done = snapshot(prediction, later);
  if (ctx.syncOutputs === 'data-url') done.output = inlineOutput(done.output, req.url.origin, ctx.outputFiles);
  return json(201, done);
}

/** The extra "starting" time of a model that has had no prediction for a while (or ever). */
function coldStartOf(ctx: EmulatorContext, model: CatalogModel, now: number): number {
  if (ctx.coldStart.ms <= 0) return 0;
  const name = fullName(model);
  const last = ctx.coldStart.lastCreatedAt.get(name);
  ctx.coldStart.lastCreatedAt.set(name, now);
  return last === undefined || now - last > COLD_AFTER_MS ? ctx.coldStart.ms : 0;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

// 'catalog' timing replays the model's example run, scaled, within bounds that keep flows lively.
function durations(ctx: EmulatorContext, model: CatalogModel): FixedTiming {
  if (ctx.timing !== 'catalog') return ctx.timing;
  const metrics = model.default_example?.metrics;
  const predictSeconds = metrics?.predict_time ?? 0;
  const totalSeconds = metrics?.total_time ?? predictSeconds;
  return {
    startingMs: clamp(Math.max(0, totalSeconds - predictSeconds) * ctx.timeScale * 1000, 200, 30_000),
    processingMs: clamp(predictSeconds * ctx.timeScale * 1000, 1000, 120_000),
  };
}
