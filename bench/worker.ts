// The benchmark's second process: it hosts the local Replicate emulator and fires webhook
// loads, so neither competes with the Node-RED under test for its event loop or its heap.
// Driven over IPC by bench/worker-client.ts; it exits when its parent goes away.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { DEFAULT_TOKEN, signWebhook, startEmulator, type Emulator, type EmulatorOptions, type FaultSpec } from '../emulator';
import { pooled } from './util';

export interface CreateManyArgs {
  count: number;
  concurrency: number;
  /** Path after /v1, e.g. /models/black-forest-labs/flux-schnell/predictions. */
  path: string;
  input: Record<string, unknown>;
}

export interface WebhookLoadArgs {
  /** Full URL of the receiving route. */
  url: string;
  /** whsec_... used to sign; the core http-in target ignores the signature headers. */
  secret: string;
  count: number;
  concurrency: number;
  /** Makes prediction and webhook ids unique across runs. */
  prefix: string;
}

export interface WebhookLoadResult {
  elapsedMs: number;
  statuses: Record<string, number>;
  bodyBytes: number;
}

let emulator: Emulator | undefined;

function running(): Emulator {
  if (!emulator) throw new Error('No emulator is running in the worker');
  return emulator;
}

/** A finished prediction as Replicate posts it to a webhook. */
function deliveryBody(id: string, url: string): string {
  const now = Date.now();
  return JSON.stringify({
    id,
    model: 'black-forest-labs/flux-schnell',
    version: 'hidden',
    input: { prompt: 'a watercolor of a lighthouse at dawn', num_outputs: 1 },
    logs: 'Running black-forest-labs/flux-schnell\n100% done\n',
    output: [`https://replicate.delivery/xezq/${id}/out-0.webp`],
    data_removed: false,
    error: null,
    status: 'succeeded',
    created_at: new Date(now - 1800).toISOString(),
    started_at: new Date(now - 1500).toISOString(),
    completed_at: new Date(now).toISOString(),
    urls: {
      cancel: `https://api.replicate.com/v1/predictions/${id}/cancel`,
      get: `https://api.replicate.com/v1/predictions/${id}`,
      stream: `https://stream.replicate.com/v1/files/${id}`,
      web: `https://replicate.com/p/${id}`,
    },
    metrics: { predict_time: 1.5, total_time: 1.8 },
    source: 'api',
    webhook: url,
    webhook_events_filter: ['completed'],
  });
}

const handlers = {
  async startEmulator(options: EmulatorOptions): Promise<{ url: string; origin: string }> {
    await emulator?.close();
    emulator = undefined;
    emulator = await startEmulator({ ...options, host: '127.0.0.1', port: 0 });
    return { url: emulator.url, origin: emulator.origin };
  },

  async stopEmulator(): Promise<void> {
    await emulator?.close();
    emulator = undefined;
  },

  faults(specs: FaultSpec[]): void {
    for (const spec of specs) running().fault(spec);
  },

  reset(): void {
    running().reset();
  },

  stats() {
    return running().stats();
  },

  /** CPU time this process has used, in ms (user + system). */
  cpuMs(): number {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  },

  /** Creates predictions straight against the emulator; their ids, in creation order. */
  async createMany(args: CreateManyArgs): Promise<string[]> {
    const target = running();
    const pool = new Pool(target.origin, { connections: args.concurrency });
    const ids: string[] = new Array<string>(args.count);
    try {
      await pooled(args.count, args.concurrency, async (i) => {
        const response = await pool.request({
          method: 'POST',
          path: `/v1${args.path}`,
          headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ input: args.input }),
        });
        const text = await response.body.text();
        if (response.statusCode !== 201) throw new Error(`Creating a prediction answered ${response.statusCode}: ${text.slice(0, 200)}`);
        ids[i] = (JSON.parse(text) as { id: string }).id;
      });
    } finally {
      await pool.close();
    }
    return ids;
  },

  /** When the emulator wrote each prediction's first `output` event to its first two stream connections (performance.timeOrigin + now, ms). */
  firstOutputs(ids: string[]): Record<string, [number | null, number | null]> {
    const { streams } = running();
    return Object.fromEntries(ids.map((id) => [id, [streams.firstOutputAt(id, 0) ?? null, streams.firstOutputAt(id, 1) ?? null]]));
  },

  /** The predictions whose event stream has been asked for, oldest first, with the stream's URL (the request log must be on). */
  streamed(): Array<{ id: string; url: string }> {
    const { requests, streams, streamOrigin } = running();
    const seen = new Map<string, { id: string; url: string }>();
    for (const request of requests) {
      const id = seen.has(request.path) ? undefined : streams.predictionOf(request.path);
      if (id) seen.set(request.path, { id, url: `${streamOrigin}${request.path}` });
    }
    return [...seen.values()];
  },

  /** GET /v1/predictions/{id} requests per prediction id, from the emulator's request log. */
  pollCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const request of running().requests) {
      if (request.method !== 'GET') continue;
      const match = /^\/v1\/predictions\/([^/]+)$/.exec(request.path);
      if (match) counts[match[1]!] = (counts[match[1]!] ?? 0) + 1;
    }
    return counts;
  },

  /** Posts `count` signed deliveries, each with its own prediction id and webhook-id. */
  async webhookLoad(args: WebhookLoadArgs): Promise<WebhookLoadResult> {
    const url = new URL(args.url);
    const timestamp = Math.floor(Date.now() / 1000);
    const requests = Array.from({ length: args.count }, (_, i) => {
      const id = `${args.prefix}${i.toString(36).padStart(6, '0')}`;
      const webhookId = `msg_${id}`;
      const body = deliveryBody(id, args.url);
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Replicate-Webhooks/1.0',
          'webhook-id': webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(args.secret, webhookId, timestamp, body),
        },
      };
    });
    const pool = new Pool(url.origin, { connections: args.concurrency });
    const statuses: Record<string, number> = {};
    const path = url.pathname + url.search;
    try {
      const started = performance.now();
      await pooled(args.count, args.concurrency, async (i) => {
        const { body, headers } = requests[i]!;
        try {
          const response = await pool.request({ method: 'POST', path, headers, body });
          await response.body.dump();
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
        } catch (err) {
          const key = `error:${(err as Error).message}`;
          statuses[key] = (statuses[key] ?? 0) + 1;
        }
      });
      const elapsedMs = performance.now() - started;
      return { elapsedMs, statuses, bodyBytes: Buffer.byteLength(requests[0]?.body ?? '') };
    } finally {
      await pool.close();
    }
  },
};

export type WorkerHandlers = typeof handlers;
export type WorkerCommand = keyof WorkerHandlers;

interface Request {
  id: number;
  cmd: WorkerCommand;
  args: unknown;
}

async function shutdown(code: number): Promise<void> {
  await emulator?.close().catch(() => undefined);
  emulator = undefined;
  process.exit(code);
}

if (require.main === module) {
  process.on('message', (message: Request) => {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the handlers use no `this`
    const handler = handlers[message.cmd] as ((args: unknown) => unknown) | undefined;
    void (async () => {
      try {
        if (!handler) throw new Error(`Unknown worker command ${String(message.cmd)}`);
        const result = await handler(message.args);
        process.send?.({ id: message.id, ok: true, result });
      } catch (err) {
        process.send?.({ id: message.id, ok: false, error: (err as Error).stack ?? String(err) });
      }
    })();
  });
  process.on('disconnect', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
  process.send?.({ ready: true });
}
