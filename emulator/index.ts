// A local Replicate API for tests, the dev Node-RED, benchmarks and offline flow building. It is
// written independently of the nodes so it can catch their mistakes.
import { Accounts } from './accounts';
import { AccountModels } from './account-models';
import { loadCatalog } from './catalog';
import { Collections } from './collections';
import { handleControl, type ControlSurface } from './control-api';
import { DeploymentStore } from './deployments';
import { FaultQueue } from './faults';
import { FileStore, fileView } from './files-api';
import { PredictionLifecycle } from './prediction-lifecycle';
import { sampleNamed, type PredictionFiles } from './output-files';
import { isRemoved, isTerminal, PredictionStore, snapshot, statusAt } from './predictions';
import { RateLimiter } from './rate-limits';
import type { EmulatorContext } from './replicate-api';
import { RequestLog } from './request-log';
import { createEmulatorServer, createStreamServer } from './server';
import { StreamHub } from './streams';
import { Timers } from './timers';
import { trainingView } from './trainings';
import type { Emulator, EmulatorOptions, EmulatorStats, PredictionOutcome } from './types';
import { WebhookSender } from './webhooks';

export { DEFAULT_TOKEN } from './accounts';
export { signWebhook } from './webhook-signing';
export { startRecorder, type Recorder } from './recorder';
export type {
  Emulator,
  EmulatorAccount,
  EmulatorFile,
  EmulatorOptions,
  EmulatorStats,
  FaultMatch,
  RateLimit,
  RateLimits,
  FaultSpec,
  PredictionOutcome,
  PredictionStatus,
  ReceivedFile,
  RecordedRequest,
  TerminalStatus,
  WebhookDelivery,
  WebhookEvent,
} from './types';

const DEFAULT_TIMING = { startingMs: 100, processingMs: 400 };
const DEFAULT_RETRY_DELAYS_MS = [1000, 5000, 30_000];
/** Replicate removes an API prediction's data an hour after it ends. */
const DEFAULT_RETENTION_SECONDS = 3600;

function checkOptions(options: EmulatorOptions): void {
  const { pageSize, timeScale, retentionSeconds, coldStartMs, syncWaitScale } = options;
  if (pageSize !== undefined && !(Number.isInteger(pageSize) && pageSize >= 1))
    throw new Error(`pageSize must be a whole number >= 1 (got ${pageSize})`);
  if (timeScale !== undefined && !(timeScale > 0)) throw new Error(`timeScale must be positive (got ${timeScale})`);
  if (retentionSeconds !== undefined && !(retentionSeconds >= 0))
    throw new Error(`retentionSeconds must be >= 0 (got ${retentionSeconds})`);
  if (coldStartMs !== undefined && !(coldStartMs >= 0)) throw new Error(`coldStartMs must be >= 0 (got ${coldStartMs})`);
  if (syncWaitScale !== undefined && !(syncWaitScale > 0)) throw new Error(`syncWaitScale must be positive (got ${syncWaitScale})`);
}

// The address clients should use: a wildcard listen address is reached through loopback.
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  checkOptions(options);
  const catalog = await loadCatalog();
  const accounts = new Accounts(options.accounts);
  const timers = new Timers();
  const webhooks = new WebhookSender(timers, options.webhookRetryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS);
  const lifecycle = new PredictionLifecycle(timers, webhooks, (owner) => accounts.webhookSecretOf(owner));
  const predictions = new PredictionStore();
  const faults = new FaultQueue();
  const files = new FileStore(options.fileExpiryMs);
  const requestLog = new RequestLog(options.recordRequests ?? 10_000);
  const counters = { requests: 0, byRoute: {} as Record<string, number> };
  const streamHub = new StreamHub();
  const startedAt = new Date().toISOString();
  const deployments = new DeploymentStore(catalog, startedAt);
  const rateLimiter = options.rateLimits ? new RateLimiter(options.rateLimits === true ? {} : options.rateLimits) : undefined;
  const outputFiles: PredictionFiles = (id, name) => {
    const record = predictions.get(id);
    if (!record) return undefined;
    if (isRemoved(record, Date.now())) return 'removed';
    return record.madeFiles?.get(name) ?? sampleNamed(name);
  };
  const trainings = {
    store: new PredictionStore(),
    lifecycle: new PredictionLifecycle(timers, webhooks, (owner) => accounts.webhookSecretOf(owner), trainingView),
    models: new AccountModels(),
  };
  const ctx: EmulatorContext = {
    accounts,
    catalog,
    predictions,
    lifecycle,
    faults,
    files,
    pageSize: options.pageSize ?? 25,
    timing: options.timing ?? DEFAULT_TIMING,
    timeScale: options.timeScale ?? 0.25,
    deployments,
    collections: new Collections(catalog),
    rateLimiter,
    retentionMs: (options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS) * 1000,
    syncOutputs: options.syncOutputs ?? 'url',
    syncWaitScale: options.syncWaitScale ?? 1,
    coldStart: { ms: options.coldStartMs ?? 0, lastCreatedAt: new Map() },
    outputFiles,
    streams: { hub: streamHub, timers },
    trainings,
  };

  const prediction = (id: string): Record<string, unknown> | undefined => {
    const record = predictions.get(id);
    return record && snapshot(record, Date.now());
  };
  const finish = (id: string, outcome: PredictionOutcome): void => {
    const record = predictions.get(id);
    if (!record) throw new Error(`No prediction ${id}`);
    const now = Date.now();
    if (!lifecycle.forceEnd(record, outcome, now)) throw new Error(`Prediction ${id} has already ended (${statusAt(record, now)})`);
  };
  const expire = (id: string): void => {
    const record = predictions.get(id);
    if (!record) throw new Error(`No prediction ${id}`);
    const now = Date.now();
    if (!isTerminal(record, now))
      throw new Error(`Prediction ${id} is still ${statusAt(record, now)}: Replicate removes data only after the end`);
    record.removedAt = Math.min(record.removedAt ?? now, now);
  };
  const stats = (): EmulatorStats => {
    const now = Date.now();
    const byStatus: Record<string, number> = {};
    for (const record of predictions.all()) {
      const status = statusAt(record, now);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    return {
      requests: counters.requests,
      byRoute: { ...counters.byRoute },
      predictions: byStatus,
      webhooksDelivered: webhooks.delivered,
      faultsFired: faults.fired,
    };
  };
  const reset = (): void => {
    faults.clear();
    faults.fired = 0;
    requestLog.clear();
    for (const record of predictions.all()) lifecycle.release(record);
    predictions.clear();
    for (const record of trainings.store.all()) trainings.lifecycle.release(record);
    trainings.store.clear();
    trainings.models.clear();
    streamHub.clear();
    files.clear();
    deployments.clear();
    rateLimiter?.clear();
    ctx.coldStart.lastCreatedAt.clear();
    webhooks.clear();
    counters.requests = 0;
    counters.byRoute = {};
  };
  const fileInputs = (id: string) => {
    const record = predictions.get(id);
    return record ? files.received(record.input) : [];
  };
  const surface: ControlSurface = {
    fileInputs,
    fault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    stats,
    recentRequests: (limit) => requestLog.recentMasked(limit),
    prediction,
    finish,
    expire,
    reset,
  };

  const deps = {
    ctx,
    faults,
    requestLog,
    timers,
    counters,
    control: (request: Parameters<typeof handleControl>[1]) => handleControl(surface, request),
    log: options.log,
    recordResponses: options.recordResponses ?? false,
  };
  const server = createEmulatorServer(deps);
  const streamServer = createStreamServer(deps);
  const host = options.host ?? '127.0.0.1';
  const port = await server.listen(options.port ?? 0, host);
  streamHub.port = await streamServer.listen(options.streamPort ?? 0, host);
  const origin = `http://${urlHost(host)}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}/v1`,
    origin,
    port,
    streamOrigin: `http://${urlHost(host)}:${streamHub.port}`,
    get requests() {
      return requestLog.list();
    },
    clearRequests: () => requestLog.clear(),
    fault: (spec) => surface.fault(spec),
    clearFaults: () => surface.clearFaults(),
    reset,
    account: (token) => accounts.get(token),
    rotateWebhookSecret: (token) => accounts.rotateWebhookSecret(token),
    prediction,
    finish,
    expire,
    files: {
      list: () => files.all().map(fileView),
      get: (id) => {
        const file = files.get(id);
        return file && { ...fileView(file), id: file.id, filename: file.filename, bytes: file.bytes };
      },
      downloadUrl: (id, seconds = 3600) => {
        const file = files.get(id);
        if (!file) throw new Error(`No file ${id}`);
        return files.downloadUrl(file, seconds);
      },
    },
    fileInputs,
    webhooks: {
      get deliveries() {
        return webhooks.deliveries;
      },
      redeliver: (webhookId) => webhooks.redeliver(webhookId),
      idle: () => webhooks.idle(),
    },
    stats,
    streams: {
      get open() {
        return streamHub.open.size;
      },
      firstOutputAt: (id, connection) => streamHub.firstOutputAt(id, connection),
      predictionOf: (path) => streamHub.find(path)?.id,
    },
    close: () => {
      closing ??= (async () => {
        timers.stop();
        await Promise.all([server.close(), streamServer.close(), webhooks.close()]);
        // libuv releases closed handles after the check phase: two turns and they are gone.
        for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
      })();
      return closing;
    },
  };
}
