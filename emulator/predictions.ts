// Predictions and their timeline. A prediction's state is computed from timestamps when asked
// (starting, then processing, then its planned end), so thousands of concurrent predictions
// cost no timers; only cancel, finish() and deadlines ever change the planned end.
import { randomBytes } from 'node:crypto';
import type { PredictionOutcome, PredictionStatus, TerminalStatus, WebhookEvent } from './types';

export interface PredictionEnd {
  at: number;
  status: TerminalStatus;
  /** Absent when the prediction never got to run. */
  startedAt?: number;
  output: unknown;
  error: string | null;
}

export interface PredictionRecord {
  id: string;
  seq: number;
  /** Username of the account that created it; no other account can see it. */
  owner: string;
  model: string;
  /** The version id, or "hidden" when run as an official model. */
  version: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhookEventsFilter?: WebhookEvent[];
  deployment?: string;
  /** Scheme and host the creating client used, for the prediction's urls. */
  origin: string;
  /** Its event stream on the emulator's stream origin (urls.stream), when it has output. */
  streamUrl?: string;
  createdAt: number;
  startAt: number;
  processingMs: number;
  deadlineAt?: number;
  /** What a successful run outputs. */
  eventualOutput: unknown;
  end: PredictionEnd;
  /** Webhook timers still to fire, cancelled when the end is forced. */
  timers: NodeJS.Timeout[];
  /** Prefer: wait responses to release when the end is forced. */
  waiters: Set<() => void>;
  /** How long after its end its data is kept. */
  retentionMs: number;
  /** When its data was removed ahead of time (expire). */
  removedAt?: number;
  /** Output files made from its input (an upscaled image), by file name; the others are samples. */
  madeFiles?: Map<string, { contentType: string; bytes: Buffer }>;
}

export interface NewPrediction {
  owner: string;
  model: string;
  version: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhookEventsFilter?: WebhookEvent[];
  deployment?: string;
  origin: string;
  streamUrl?: string;
  startingMs: number;
  processingMs: number;
  cancelAfterMs?: number;
  eventualOutput: unknown;
  outcome?: PredictionOutcome;
  retentionMs: number;
  /** Chosen before the id exists, so the output can name files under it. */
  id?: string;
  madeFiles?: Map<string, { contentType: string; bytes: Buffer }>;
}

const DEFAULT_FAILURE = 'Prediction failed (emulated failure)';
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const LOG_STEPS = 10;

export function predictionId(): string {
  return [...randomBytes(26)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

export const midpoint = (p: PredictionRecord): number => p.startAt + p.processingMs / 2;

export const isTerminal = (p: PredictionRecord, now: number): boolean => now >= p.end.at;

export function statusAt(p: PredictionRecord, now: number): PredictionStatus {
  if (isTerminal(p, now)) return p.end.status;
  return now >= p.startAt ? 'processing' : 'starting';
}

/** While running, models that stream (lists of tokens or files) show the first half of their output from mid-run. */
function partialOutput(p: PredictionRecord, at: number): unknown {
  if (!Array.isArray(p.eventualOutput) || at < midpoint(p)) return null;
  return p.eventualOutput.slice(0, Math.ceil(p.eventualOutput.length / 2));
}

function logsAt(p: PredictionRecord, at: number): string {
  if (at < p.startAt) return '';
  const steps = Math.min(LOG_STEPS, Math.floor(((at - p.startAt) / Math.max(1, p.processingMs)) * LOG_STEPS));
  let logs = `Running ${p.model} (emulated)\n`;
  for (let step = 1; step <= steps; step++) logs += `${(step * 100) / LOG_STEPS}% done\n`;
  return logs;
}

function planEnd(p: PredictionRecord, outcome: PredictionOutcome | undefined): PredictionEnd {
  if (p.deadlineAt !== undefined && p.deadlineAt < p.startAt) return { at: p.deadlineAt, status: 'aborted', output: null, error: null };
  const status = outcome?.status ?? 'succeeded';
  const finishAt = status === 'aborted' ? p.startAt : p.startAt + p.processingMs;
  if (p.deadlineAt !== undefined && p.deadlineAt < finishAt) return endNow(p, p.deadlineAt, { status: 'canceled' });
  return endNow(p, finishAt, outcome ?? { status: 'succeeded' });
}

/** The end a prediction reaches when stopped at `at` with this outcome. */
export function endNow(p: PredictionRecord, at: number, outcome: PredictionOutcome): PredictionEnd {
  const ran = outcome.status !== 'aborted' && (at >= p.startAt || outcome.status !== 'canceled');
  const output = outcome.output !== undefined ? outcome.output : outcome.status === 'succeeded' ? p.eventualOutput : null;
  const error = outcome.error ?? (outcome.status === 'failed' ? DEFAULT_FAILURE : null);
  return { at, status: outcome.status, startedAt: ran ? Math.min(p.startAt, at) : undefined, output, error };
}

/** Its input, logs, output and output files are gone (an hour after its end on Replicate). */
export function isRemoved(p: PredictionRecord, now: number): boolean {
  return isTerminal(p, now) && now >= (p.removedAt ?? p.end.at + p.retentionMs);
}

/** The prediction exactly as the API returns it at `now`. */
export function snapshot(p: PredictionRecord, now: number): Record<string, unknown> {
  const terminal = isTerminal(p, now);
  const removed = isRemoved(p, now);
  const at = Math.min(now, p.end.at);
  const startedAt = terminal ? p.end.startedAt : now >= p.startAt ? p.startAt : undefined;
  const url = `${p.origin}/v1/predictions/${p.id}`;
  const view: Record<string, unknown> = {
    id: p.id,
    model: p.model,
    version: p.version,
    input: removed ? {} : p.input,
    logs: startedAt === undefined || removed ? '' : logsAt(p, at),
    output: removed ? null : terminal ? p.end.output : partialOutput(p, at),
    data_removed: removed,
    error: terminal ? p.end.error : null,
    status: statusAt(p, now),
    created_at: iso(p.createdAt),
  };
  if (startedAt !== undefined) view.started_at = iso(startedAt);
  if (terminal) view.completed_at = iso(p.end.at);
  view.urls =
    p.streamUrl !== undefined
      ? { cancel: `${url}/cancel`, get: url, stream: p.streamUrl, web: `https://replicate.com/p/${p.id}` }
      : { cancel: `${url}/cancel`, get: url, web: `https://replicate.com/p/${p.id}` };
  if (terminal) {
    const metrics: Record<string, number> = {};
    if (startedAt !== undefined) metrics.predict_time = (p.end.at - startedAt) / 1000;
    metrics.total_time = (p.end.at - p.createdAt) / 1000;
    view.metrics = metrics;
  }
  view.source = 'api';
  if (p.deadlineAt !== undefined) view.deadline = iso(p.deadlineAt);
  if (p.deployment !== undefined) view.deployment = p.deployment;
  if (p.webhook !== undefined) view.webhook = p.webhook;
  if (p.webhookEventsFilter !== undefined) view.webhook_events_filter = p.webhookEventsFilter;
  return view;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export interface PredictionPage {
  results: PredictionRecord[];
  /** Sequence number to list before for the next (older) page. */
  olderThan?: number;
  /** Sequence number to list after for the previous (newer) page. */
  newerThan?: number;
}

export class PredictionStore {
  private readonly byId = new Map<string, PredictionRecord>();
  private readonly byOwner = new Map<string, PredictionRecord[]>();
  private seq = 0;

  create(spec: NewPrediction, now: number): PredictionRecord {
    const record: PredictionRecord = {
      id: spec.id ?? predictionId(),
      seq: ++this.seq,
      owner: spec.owner,
      model: spec.model,
      version: spec.version,
      input: spec.input,
      webhook: spec.webhook,
      webhookEventsFilter: spec.webhookEventsFilter,
      deployment: spec.deployment,
      origin: spec.origin,
      streamUrl: spec.streamUrl,
      createdAt: now,
      startAt: now + spec.startingMs,
      processingMs: spec.processingMs,
      deadlineAt: spec.cancelAfterMs === undefined ? undefined : now + spec.cancelAfterMs,
      eventualOutput: spec.eventualOutput,
      end: { at: Infinity, status: 'succeeded', output: null, error: null },
      timers: [],
      waiters: new Set(),
      retentionMs: spec.retentionMs,
      madeFiles: spec.madeFiles,
    };
    record.end = planEnd(record, spec.outcome);
    this.byId.set(record.id, record);
    const owned = this.byOwner.get(record.owner) ?? [];
    owned.push(record);
    this.byOwner.set(record.owner, owned);
    return record;
  }

  get(id: string): PredictionRecord | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<PredictionRecord> {
    return this.byId.values();
  }

  /** The owner's predictions, newest first, `pageSize` at a time. */
  page(owner: string, pageSize: number, position: { olderThan?: number; newerThan?: number }): PredictionPage {
    const owned = this.byOwner.get(owner) ?? [];
    let from: number;
    let to: number;
    if (position.newerThan !== undefined) {
      from = firstIndexAbove(owned, position.newerThan);
      to = Math.min(owned.length, from + pageSize);
    } else {
      to = position.olderThan === undefined ? owned.length : firstIndexAbove(owned, position.olderThan - 1);
      from = Math.max(0, to - pageSize);
    }
    const results = owned.slice(from, to).reverse();
    return {
      results,
      olderThan: from > 0 ? owned[from]?.seq : undefined,
      newerThan: to < owned.length ? owned[to - 1]?.seq : undefined,
    };
  }

  clear(): void {
    this.byId.clear();
    this.byOwner.clear();
  }
}

/** Index of the first prediction with seq > value (the list is in seq order). */
function firstIndexAbove(list: PredictionRecord[], value: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((list[mid]?.seq ?? Infinity) > value) high = mid;
    else low = mid + 1;
  }
  return low;
}
