// What the flow nodes do, one call each: a node maps its msg to one of these and the result back.
import type { PredictionTarget } from './identifiers';
import { cursorFromNext, collectPages } from './pagination';
import { PollsExhaustedError, type PollPlan, type PredictionPoller } from './prediction-poller';
import type { CallOptions, CreatePredictionBody, ReplicateClient } from './replicate-client';
import type { Model, Prediction, WebhookEvent } from './schemas';
import type { WaitSettings } from './node-settings';

export interface Progress extends CallOptions {
  onPoll?: (prediction: Prediction, polls: number) => void;
}

export interface WaitPlan extends PollPlan {
  cancelOnTimeout: boolean;
}

const plans = new WeakMap<WaitSettings, WaitPlan>();

/** Seconds from the editor to the poller's plan; backoff stretches waits only during cold boots. One plan per node's settings. */
export function waitPlan(settings: WaitSettings): WaitPlan {
  let plan = plans.get(settings);
  if (!plan) {
    const intervalMs = Math.round(settings.pollInterval * 1000);
    plan = Object.freeze({
      intervalMs,
      maxPolls: settings.maxPolls,
      backoff: settings.backoff ? { factor: 1.5, maxIntervalMs: Math.max(30_000, intervalMs) } : undefined,
      cancelOnTimeout: settings.cancelOnTimeout,
    });
    plans.set(settings, plan);
  }
  return plan;
}

export interface RunRequest {
  target: PredictionTarget;
  input: Record<string, unknown>;
  webhook?: string;
  webhookEvents?: WebhookEvent[];
  wait: 'none' | 'sync' | 'complete';
  waitSeconds: number;
  cancelAfter?: string;
  plan: WaitPlan;
}

/** Creates a prediction and, as asked, returns it as created, after a sync wait, or once finished. */
export async function runPrediction(
  client: ReplicateClient,
  poller: PredictionPoller,
  request: RunRequest,
  progress: Progress = {},
): Promise<Prediction> {
  const body: CreatePredictionBody = { input: request.input };
  if (request.webhook) {
    body.webhook = request.webhook;
    if (request.webhookEvents?.length) body.webhook_events_filter = request.webhookEvents;
  }
  const creating = client.createPrediction(request.target, body, {
    signal: progress.signal,
    onRetry: progress.onRetry,
    waitSeconds: request.wait === 'sync' ? request.waitSeconds : undefined,
    cancelAfter: request.cancelAfter,
  });
  if (request.wait !== 'complete') return creating;
  const created = await creating;
  return awaitPrediction(client, poller, created.id, request.plan, progress, created);
}

/**
 * Polls until the prediction succeeds, fails or is canceled/aborted. When the budget runs out it
 * throws PollsExhaustedError, after cancelling the prediction if the plan says so.
 */
export async function awaitPrediction(
  client: ReplicateClient,
  poller: PredictionPoller,
  id: string,
  plan: WaitPlan,
  progress: Progress = {},
  initial?: Prediction,
): Promise<Prediction> {
  try {
    const { prediction } = await poller.wait(id, plan, { initial, onPoll: progress.onPoll, onRetry: progress.onRetry });
    return prediction;
  } catch (err) {
    if (!(err instanceof PollsExhaustedError) || !plan.cancelOnTimeout) throw err;
    const afterCancel = await client.cancelPrediction(id, progress);
    // It may have finished between the last poll and the cancel: then that is the result.
    if (afterCancel.status === 'succeeded' || afterCancel.status === 'failed') return afterCancel;
    throw new PollsExhaustedError(afterCancel, err.polls, err.prediction.status, true);
  }
}

export interface ModelsRequest {
  query?: string;
  cursor?: string;
  allPages: boolean;
  maxPages: number;
  sortBy?: 'model_created_at' | 'latest_version_created_at';
  sortDirection?: 'asc' | 'desc';
}

export interface ModelsResult {
  models: Model[];
  /** Cursor of the next page, null after the last one. */
  next: string | null;
  pages: number;
}

/** One page of the catalog (or of a search), or every page up to `maxPages`. */
export async function fetchModels(
  client: ReplicateClient,
  request: ModelsRequest,
  progress: CallOptions & { onPage?: (pages: number, models: number) => void } = {},
): Promise<ModelsResult> {
  const fetchPage = (cursor: string | undefined) =>
    request.query
      ? client.searchModels(request.query, { cursor }, progress)
      : client.listModels({ cursor, sortBy: request.sortBy, sortDirection: request.sortDirection }, progress);
  if (!request.allPages) {
    const page = await fetchPage(request.cursor);
    return { models: page.results, next: cursorFromNext(page.next), pages: 1 };
  }
  const all = await collectPages(fetchPage, request.maxPages, request.cursor, progress.onPage);
  return { models: all.results, next: all.next, pages: all.pages };
}

