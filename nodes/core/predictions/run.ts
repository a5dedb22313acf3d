// A prediction's life as the create and get nodes ask for it: created (with its Cancel-After),
// returned as created, after a sync wait, or once polled to the end (cancelled when the plan says so).
import {
  InputError,
  WEBHOOK_EVENTS,
  type CallOptions,
  type CreatePredictionBody,
  type Field,
  type Prediction,
  type PredictionTarget,
  type ReplicateClient,
  type WebhookEvent,
} from '../http';
import type { WaitSettings } from '../settings';
import { createForTarget, type CommunityModels } from './latest-version';
import { PollsExhaustedError, type PollPlan, type PredictionPoller } from './poller';

export interface Progress extends CallOptions {
  /** The prediction as Replicate created it, before any wait for it. */
  onCreated?: (prediction: Prediction) => void;
  /** A community model named without a version ran a latest version the node had not run before. */
  onLatestVersion?: (model: string, version: string) => void;
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
  wait: 'none' | 'sync' | 'complete' | 'stream';
  waitSeconds: number;
  cancelAfter?: string;
  plan: WaitPlan;
  /** The node's memory of community models named without a version, which run their latest version. */
  communityModels?: CommunityModels;
}

/**
 * The events Replicate is asked to send to a webhook. An empty list, as flows saved before a choice
 * was required hold, keeps what it meant then, now said in the request: a "prediction completed"
 * node continues on completed, and a typed URL gets every event.
 */
export function webhookEventsFor(events: readonly WebhookEvent[], toCompletedNode: boolean): WebhookEvent[] {
  if (events.length > 0) return [...events];
  return toCompletedNode ? ['completed'] : [...WEBHOOK_EVENTS];
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
  const creating = createForTarget(client, request.target, body, {
    signal: progress.signal,
    onRetry: progress.onRetry,
    waitSeconds: request.wait === 'sync' ? request.waitSeconds : undefined,
    cancelAfter: request.cancelAfter,
    communityModels: request.communityModels,
    onLatestVersion: progress.onLatestVersion,
  });
  if (request.wait !== 'complete') return creating;
  const created = await creating;
  progress.onCreated?.(created);
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

// Replicate's Cancel-After header: "30s", "5m", "1h30m45s", or bare seconds; at least 5 s.

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/;

export function checkCancelAfter(value: unknown, field: Field = { key: 'field.cancelAfter' }): string {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const match = DURATION.exec(text);
  if (text === '' || !match) {
    throw new InputError('check.duration', { field, value: String(value) });
  }
  const seconds = Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
  if (seconds < 5) throw new InputError('check.durationTooShort', { field, value: text });
  return text;
}
