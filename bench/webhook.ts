// Webhook ingest: signed deliveries per second answered by a prediction-completed node
// (signature verification on, the config node holding the whsec_ secret) against Node-RED's core
// `http in` node (POST, wired to `http response`) taking the same kind of bodies unverified.
// The load comes from the worker process (an undici Pool at fixed concurrency), so the sender
// does not share Node-RED's event loop. Every delivery has its own webhook-id and prediction id.
// The ratio is the median of the rounds' ratios (each round runs both targets back to back).
import { randomBytes } from 'node:crypto';
import { DEFAULT_TOKEN } from '../emulator';
import type { Bench, BenchContext, PlannedLine } from './context';
import { benchConfig, onTab } from './node-red-host';
import { median, round, Tally } from './util';
import type { WebhookLoadResult } from './worker';

const CONCURRENCY = 50;
const OURS_PATH = '/bench/replicate/completed';
const CORE_PATH = '/bench/core/completed';

type Target = 'ours' | 'core';

function sizes(quick: boolean) {
  return quick ? { count: 1500, rounds: 7, warmup: 1000 } : { count: 4000, rounds: 9, warmup: 2000 };
}

/** Every delivery to ours (warm-up and rounds) has its own prediction id: each is emitted once. */
function expectedEmits(quick: boolean): number {
  const { count, rounds, warmup } = sizes(quick);
  return warmup + rounds * count;
}

function lines(quick: boolean) {
  return {
    ratio: { name: 'webhook.ours_vs_core', target: { op: '>=', value: 0.9 }, unit: 'throughput ratio' },
    not200: { name: 'webhook.not_200', target: { op: '==', value: 0 }, unit: 'answers' },
    emitted: { name: 'webhook.emitted_once', target: { op: '==', value: expectedEmits(quick) }, unit: 'deliveries' },
  } satisfies Record<string, PlannedLine>;
}

export const webhookBench: Bench = {
  name: 'webhook',
  needsRuntime: true,
  lines: (quick) => Object.values(lines(quick)),
  run,
};

async function run({ quick, worker, red, report }: BenchContext): Promise<void> {
  const { count, rounds, warmup } = sizes(quick);
  const secret = 'whsec_' + randomBytes(32).toString('base64');
  const emulator = await worker.call('startEmulator', { recordRequests: 0 });
  report.note(
    `webhook: ${count} deliveries per target and round, ${rounds} rounds, ${CONCURRENCY} connections; ours verifies ` +
      `Standard Webhooks signatures (secret in the config node), core http in -> http response takes them unverified`,
  );

  await red.deploy(
    [
      benchConfig('webhook-cfg', emulator.url),
      ...onTab('webhook-tab', [
        {
          id: 'webhook-ours',
          type: 'replicate-prediction-completed',
          replicate: 'webhook-cfg',
          url: OURS_PATH,
          auth: 'signature',
          outcomes: '',
          models: '',
          progress: false,
          correlate: '',
          store: '',
          expiry: 24,
          wires: [['webhook-sink']],
        },
        { id: 'webhook-sink', type: 'bench-sink', name: 'webhook.ours' },
        {
          id: 'webhook-core',
          type: 'http in',
          name: 'core',
          url: CORE_PATH,
          method: 'post',
          upload: false,
          swaggerDoc: '',
          wires: [['webhook-core-response']],
        },
        { id: 'webhook-core-response', type: 'http response', statusCode: '200', headers: {} },
        { id: 'webhook-catch', type: 'catch', scope: null, uncaught: false, wires: [['webhook-sink-errors']] },
        { id: 'webhook-sink-errors', type: 'bench-sink', name: 'webhook.errors' },
      ]),
    ],
    { 'webhook-cfg': { token: DEFAULT_TOKEN, webhookSecret: secret } },
  );

  const emitted = new Tally();
  const emittedIds = new Map<string, number>();
  let errors = 0;
  red.onSink('webhook.ours', (msg) => {
    if (typeof msg.predictionId === 'string') emittedIds.set(msg.predictionId, (emittedIds.get(msg.predictionId) ?? 0) + 1);
    emitted.add();
  });
  red.onSink('webhook.errors', () => errors++);

  let sentToOurs = 0;
  let notOk = 0;
  const statusSummary: Record<string, number> = {};
  let bodyBytes = 0;
  let runIndex = 0;
  // CPU time of this process (Node-RED; the load and the emulator run in the worker) per request: steadier than
  // throughput on a loaded machine, where a round's rate depends on who else got the CPU.
  const cpuPerRequest: Record<Target, number[]> = { ours: [], core: [] };
  const fire = async (target: Target, n: number): Promise<WebhookLoadResult> => {
    const cpuBefore = process.cpuUsage();
    const result = await worker.call('webhookLoad', {
      url: `${red.url}${target === 'ours' ? OURS_PATH : CORE_PATH}`,
      secret,
      count: n,
      concurrency: CONCURRENCY,
      prefix: `bench${target}${(runIndex++).toString(36)}x`,
    });
    const cpu = process.cpuUsage(cpuBefore);
    cpuPerRequest[target].push((cpu.user + cpu.system) / n);
    if (target === 'ours') sentToOurs += n;
    for (const [status, times] of Object.entries(result.statuses)) {
      statusSummary[`${target} ${status}`] = (statusSummary[`${target} ${status}`] ?? 0) + times;
      if (status !== '200') notOk += times;
    }
    bodyBytes = result.bodyBytes;
    return result;
  };

  const perSecond: Record<Target, number[]> = { ours: [], core: [] };
  try {
    await fire('core', warmup);
    await fire('ours', warmup);
    for (let r = 0; r < rounds; r++) {
      const order: Target[] = r % 2 === 0 ? ['ours', 'core'] : ['core', 'ours'];
      const line: string[] = [];
      for (const target of order) {
        const { elapsedMs } = await fire(target, count);
        const rate = (count / elapsedMs) * 1000;
        perSecond[target].push(rate);
        line.push(`${target} ${Math.round(rate)}/s`);
      }
      report.note(`webhook round ${r + 1}: ${line.join(', ')} (ours/core ${(perSecond.ours[r]! / perSecond.core[r]!).toFixed(2)})`);
    }
    // Ours answers before it emits: give the last emits a moment to land.
    await emitted.reached(sentToOurs, 10_000, 'deliveries emitted').catch(() => undefined);
  } finally {
    await red.clear();
  }

  const once = [...emittedIds.values()].filter((times) => times === 1).length;
  const ratios = perSecond.ours.map((rate, r) => rate / perSecond.core[r]!);
  const ours = median(perSecond.ours);
  const core = median(perSecond.core);
  report.note(
    `webhook medians: ours ${Math.round(ours)} deliveries/s, core http in ${Math.round(core)} requests/s; body ${bodyBytes} bytes; ` +
      `emitted ${emitted.count} of ${sentToOurs} (distinct ${emittedIds.size}); answers ${JSON.stringify(statusSummary)}`,
  );
  const cpuOurs = median(cpuPerRequest.ours);
  const cpuCore = median(cpuPerRequest.core);
  report.note(
    `webhook CPU of Node-RED per request (median): ours ${Math.round(cpuOurs)} µs, core http in ${Math.round(cpuCore)} µs ` +
      `(core/ours ${(cpuCore / cpuOurs).toFixed(2)})`,
  );
  if (errors > 0) report.note(`webhook: ${errors} errors reached the Catch node`);
  report.detail('webhook', {
    count,
    rounds,
    concurrency: CONCURRENCY,
    bodyBytes,
    medianPerSecond: { ours: Math.round(ours), core: Math.round(core) },
    medianCpuMicrosPerRequest: { ours: Math.round(cpuOurs), core: Math.round(cpuCore) },
    roundRatios: ratios.map((v) => round(v, 3)),
    roundsPerSecond: { ours: perSecond.ours.map((v) => Math.round(v)), core: perSecond.core.map((v) => Math.round(v)) },
    answers: statusSummary,
    sentToOurs,
    emitted: emitted.count,
    emittedDistinct: emittedIds.size,
    emittedOnce: once,
  });
  const line = lines(quick);
  report.measured(line.ratio, round(median(ratios), 3));
  report.measured(line.not200, notOk);
  report.measured({ ...line.emitted, target: { op: '==', value: sentToOurs } }, once);
}
