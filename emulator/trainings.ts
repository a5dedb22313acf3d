// Trainings (fine-tuning): POST /models/{owner}/{name}/versions/{id}/trainings with a destination
// model the account owns, and GET /trainings, GET /trainings/{id}, POST /trainings/{id}/cancel.
// A training lives on the predictions' timeline (starting, processing with progress in its logs,
// then its end, webhooks at each event, signed); its output is {version, weights} and the
// destination gains that version when it succeeds.
import type { IncomingHttpHeaders } from 'node:http';
import type { Account } from './accounts';
import type { AccountModels } from './account-models';
import { fullName, type CatalogModel } from './catalog';
import { validateBody, validateInput } from './input-validation';
import { pageLink, readCursor } from './pagination';
import type { PredictionLifecycle } from './prediction-lifecycle';
import { snapshot, type PredictionRecord, type PredictionStore } from './predictions';
import { OUTPUTS_PREFIX } from './output-files';
import { WEBHOOK_EVENTS } from './create-request';
import { badRequest, insufficientCredit, json, notFound, problem, validationFailed, type ApiResponse } from './responses';
import type { FaultQueue } from './faults';
import type { FixedTiming, WebhookEvent } from './types';

export interface TrainingContext {
  store: PredictionStore;
  lifecycle: PredictionLifecycle;
  models: AccountModels;
}

/** What the handlers need of the emulator (a part of replicate-api's context). */
export interface TrainingDeps {
  catalog: { model(owner: string, name: string): CatalogModel | undefined };
  faults: FaultQueue;
  timing: FixedTiming | 'catalog';
  timeScale: number;
  pageSize: number;
  trainings: TrainingContext;
}

export interface TrainingRequest {
  method: string;
  path: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

// A real LoRA training takes about 20 minutes; scaled like the predictions' example runs, kept to seconds.
const TRAINING_SECONDS = { starting: 10, processing: 24 };

const trainingRequestSchema = {
  type: 'object',
  required: ['destination', 'input'],
  properties: {
    destination: { type: 'string' },
    input: { type: 'object' },
    webhook: { type: 'string' },
    webhook_events_filter: { type: 'array', items: { type: 'string', enum: WEBHOOK_EVENTS } },
  },
};

const DESTINATION = /^([^/\s]+)\/([^/\s]+)$/;

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

function durations(deps: TrainingDeps): FixedTiming {
  if (deps.timing !== 'catalog') return deps.timing;
  return {
    startingMs: clamp(TRAINING_SECONDS.starting * deps.timeScale * 1000, 200, 30_000),
    processingMs: clamp(TRAINING_SECONDS.processing * deps.timeScale * 1000, 1000, 120_000),
  };
}

/** The version's training input schema, or undefined when it cannot be trained. */
function trainingSchema(model: CatalogModel): Record<string, unknown> | undefined {
  const schema = model.latest_version?.openapi_schema as { components?: { schemas?: Record<string, unknown> } } | undefined;
  const schemas = schema?.components?.schemas;
  if (!schemas?.TrainingInput) return undefined;
  // validateInput checks `Input`: the same definitions with the training's input in its place
  return { components: { schemas: { ...schemas, Input: schemas.TrainingInput } } };
}

/** A training exactly as the API returns it at `now`: the prediction's timeline under /trainings URLs. */
export function trainingView(t: PredictionRecord, now: number): Record<string, unknown> {
  const view = snapshot(t, now);
  if (view.started_at !== undefined) view.logs = trainingLogs(t, Math.min(now, t.end.at));
  const url = `${t.origin}/v1/trainings/${t.id}`;
  view.urls = { cancel: `${url}/cancel`, get: url, web: `https://replicate.com/p/${t.id}` };
  delete view.data_removed;
  // the description's `output` is an object, never null: a training without one (not yet, or
  // not succeeded) has none, as Replicate's own example of a starting training shows
  if (view.output === null || view.output === undefined) delete view.output;
  return view;
}

const LOG_LINES = 10;

/** Progress as trainers log it, tqdm bars that the official clients' parseProgressFromLogs reads. */
function trainingLogs(t: PredictionRecord, at: number): string {
  const steps = typeof t.input.steps === 'number' && t.input.steps > 0 ? Math.floor(t.input.steps) : 1000;
  const lines = Math.min(LOG_LINES, Math.floor(((at - t.startAt) / Math.max(1, t.processingMs)) * LOG_LINES));
  let logs = `Training ${t.model} for ${steps} steps (emulated)\n`;
  for (let line = 1; line <= lines; line++) {
    const percent = (line * 100) / LOG_LINES;
    const bar = '█'.repeat(line).padEnd(LOG_LINES, ' ');
    logs += `${percent}%|${bar}| ${Math.round((steps * line) / LOG_LINES)}/${steps} [00:${String(line).padStart(2, '0')}<00:00, 1.00it/s]\n`;
  }
  return logs;
}

export function createTraining(
  deps: TrainingDeps,
  req: TrainingRequest,
  account: Account,
  [owner = '', name = '', versionId = '']: string[],
): ApiResponse {
  const trainer = deps.catalog.model(owner, name);
  if (!trainer || trainer.latest_version?.id !== versionId) return notFound();
  const schema = trainingSchema(trainer);
  if (!schema) return badRequest('Not trainable', `${fullName(trainer)} cannot be trained: its version has no training inputs.`);
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    return badRequest('Invalid JSON', 'The request body is not valid JSON.');
  }
  const problems = validateBody(body, trainingRequestSchema);
  if (problems.length > 0) return validationFailed(problems);
  const fields = body as { destination: string; input: Record<string, unknown>; webhook?: string; webhook_events_filter?: WebhookEvent[] };
  if (fields.webhook !== undefined && !/^https?:\/\/[^\s/?#]+/i.test(fields.webhook))
    return validationFailed([{ type: 'format', field: 'webhook', description: "Does not match format 'uri'" }]);
  const named = DESTINATION.exec(fields.destination);
  if (!named) return validationFailed([{ type: 'format', field: 'destination', description: 'The destination must be owner/name.' }]);
  const destination = deps.trainings.models.get(named[1]!, named[2]!, account);
  if (!destination) {
    if (deps.catalog.model(named[1]!, named[2]!))
      return problem(403, 'Forbidden', `You do not have permission to push versions to ${fields.destination}.`);
    return problem(404, 'Not found', `The specified training destination ${fields.destination} does not exist.`);
  }
  if (destination.owner !== account.username)
    return problem(403, 'Forbidden', `You do not have permission to push versions to ${fields.destination}.`);
  if (!account.billing) return insufficientCredit();
  const invalid = validateInput(fields.input, schema);
  if (invalid.length > 0) return validationFailed(invalid);

  const outcome = deps.faults.takeCreationFault('outcome', req.method, req.path);
  const timing = deps.faults.takeCreationFault('timing', req.method, req.path) ?? durations(deps);
  const now = Date.now();
  const output: { version: string; weights: string } = {
    version: '',
    weights: `${req.url.origin}${OUTPUTS_PREFIX}other/trained_model.tar`,
  };
  const training = deps.trainings.store.create(
    {
      owner: account.username,
      model: fullName(trainer),
      version: versionId,
      input: fields.input,
      webhook: fields.webhook,
      webhookEventsFilter: fields.webhook_events_filter,
      origin: req.url.origin,
      startingMs: timing.startingMs,
      processingMs: timing.processingMs,
      eventualOutput: output,
      // a training's weights are what the trained version runs on: they are not removed after an hour
      retentionMs: Number.POSITIVE_INFINITY,
      outcome: outcome && { status: outcome.status, output: outcome.output, error: outcome.error },
    },
    now,
  );
  output.version = `${fullName(destination)}:${deps.trainings.models.addVersion(destination, training, trainer)}`;
  deps.trainings.lifecycle.created(training);
  return json(201, trainingView(training, now));
}

function ownTraining(deps: TrainingDeps, account: Account, id: string): PredictionRecord | undefined {
  const training = deps.trainings.store.get(id);
  return training?.owner === account.username ? training : undefined;
}

export function getTraining(deps: TrainingDeps, _req: TrainingRequest, account: Account, [id = '']: string[]): ApiResponse {
  const training = ownTraining(deps, account, id);
  return training ? json(200, trainingView(training, Date.now())) : notFound();
}

export function cancelTraining(deps: TrainingDeps, _req: TrainingRequest, account: Account, [id = '']: string[]): ApiResponse {
  const training = ownTraining(deps, account, id);
  if (!training) return notFound();
  const now = Date.now();
  deps.trainings.lifecycle.forceEnd(training, { status: 'canceled' }, now);
  return json(200, trainingView(training, now));
}

export function listTrainings(deps: TrainingDeps, req: TrainingRequest, account: Account): ApiResponse {
  const cursor = readCursor(req.url.searchParams);
  if ('response' in cursor) return cursor.response;
  const page = deps.trainings.store.page(account.username, deps.pageSize, cursor.position);
  const now = Date.now();
  return json(200, {
    next: pageLink(req.url, page.olderThan === undefined ? undefined : { olderThan: page.olderThan }),
    previous: pageLink(req.url, page.newerThan === undefined ? undefined : { newerThan: page.newerThan }),
    results: page.results.map((t) => trainingView(t, now)),
  });
}
