// Create throughput: N messages through a deployed create-prediction node (50 in flight, set by
// the config node), against the same N create requests made straight with an undici Pool of 50
// connections, and against the official `replicate` client called from a core function node
// (50 in flight). The three run side by side, round after round in rotating order. A ratio is
// the median of the rounds' ratios: each compares runs made seconds apart, so a neighbour
// process stealing CPU for a while skews a round or two, not the result.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { DEFAULT_TOKEN } from '../emulator';
import type { Bench, BenchContext, PlannedLine } from './context';
import { BENCH_CONFIG_NOTE, benchConfig, onTab } from './node-red-host';
import { limiter, median, pooled, round, Tally } from './util';

export const MODEL = 'black-forest-labs/flux-schnell';
const CONCURRENCY = 50;

type Variant = 'ours' | 'undici' | 'official';

// The function node a user would write around the official client: the client and a limit of
// 50 in flight come from functionGlobalContext.
const OFFICIAL_FUNCTION = `
const bench = global.get('bench');
const prediction = await bench.limit(() => bench.replicate.predictions.create({ model: '${MODEL}', input: msg.payload }));
msg.payload = prediction;
msg.predictionId = prediction.id;
msg.status = prediction.status;
return msg;
`;

function sizes(quick: boolean) {
  return quick ? { count: 500, rounds: 5, warmup: 500 } : { count: 2000, rounds: 7, warmup: 1000 };
}

const LINES = {
  undici: { name: 'create.ours_vs_undici', target: { op: '<=', value: 1.15 }, unit: 'time ratio' },
  official: { name: 'create.ours_vs_official', target: { op: '<', value: 1 }, unit: 'time ratio' },
  errors: { name: 'create.errors', target: { op: '==', value: 0 }, unit: 'failed creates' },
} satisfies Record<string, PlannedLine>;

export const createBench: Bench = {
  name: 'create',
  needsRuntime: true,
  lines: () => Object.values(LINES),
  run,
};

async function run({ quick, worker, red, report }: BenchContext): Promise<void> {
  const { count, rounds, warmup } = sizes(quick);
  const emulator = await worker.call('startEmulator', { recordRequests: 0, timing: { startingMs: 100, processingMs: 400 } });
  report.note(`create: ${count} creates of ${MODEL} per variant and round, ${rounds} rounds, ${CONCURRENCY} in flight; ${BENCH_CONFIG_NOTE}`);

  // The official client, as a user would set it up, handed to the function node.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when this benchmark runs (it is timed against ours)
  const Replicate = require('replicate') as new (options: { auth: string; baseUrl: string }) => unknown;
  red.globals.replicate = new Replicate({ auth: DEFAULT_TOKEN, baseUrl: emulator.url });
  red.globals.limit = limiter(CONCURRENCY);

  await red.deploy(
    [
      benchConfig('create-cfg', emulator.url),
      ...onTab('create-tab', [
        { id: 'create-ours', type: 'replicate-create-prediction', replicate: 'create-cfg', model: MODEL, deployment: '', input: '{}', wait: 'none', wires: [['create-sink-ours']] },
        { id: 'create-sink-ours', type: 'bench-sink', name: 'create.ours' },
        { id: 'create-official', type: 'function', name: 'official client', func: OFFICIAL_FUNCTION, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [['create-sink-official']] },
        { id: 'create-sink-official', type: 'bench-sink', name: 'create.official' },
        { id: 'create-catch', type: 'catch', scope: null, uncaught: false, wires: [['create-sink-errors']] },
        { id: 'create-sink-errors', type: 'bench-sink', name: 'create.errors' },
      ]),
    ],
    { 'create-cfg': { token: DEFAULT_TOKEN } },
  );

  const done = new Tally();
  let errors = 0;
  let firstError = '';
  const arrived = () => done.add();
  red.onSink('create.ours', arrived);
  red.onSink('create.official', arrived);
  red.onSink('create.errors', (msg) => {
    errors++;
    firstError ||= String((msg.error as { message?: string } | undefined)?.message ?? 'unknown error');
    done.add();
  });

  const pool = new Pool(emulator.origin, { connections: CONCURRENCY });
  const throughNode = async (nodeId: string, n: number): Promise<number> => {
    done.reset();
    const node = red.node(nodeId);
    const started = performance.now();
    for (let i = 0; i < n; i++) node.receive({ payload: { prompt: `a lighthouse at dawn, study ${i}` } });
    await done.reached(n, 120_000, `messages out of ${nodeId}`);
    return performance.now() - started;
  };
  const measure: Record<Variant, (n: number) => Promise<number>> = {
    ours: (n) => throughNode('create-ours', n),
    official: (n) => throughNode('create-official', n),
    undici: async (n) => {
      const started = performance.now();
      await pooled(n, CONCURRENCY, async (i) => {
        const response = await pool.request({
          method: 'POST',
          path: `/v1/models/${MODEL}/predictions`,
          headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ input: { prompt: `a lighthouse at dawn, study ${i}` } }),
        });
        const text = await response.body.text();
        if (response.statusCode !== 201) {
          errors++;
          firstError ||= `undici: HTTP ${response.statusCode}`;
        } else JSON.parse(text);
      });
      return performance.now() - started;
    },
  };

  const order: Variant[] = ['ours', 'undici', 'official'];
  const times: Record<Variant, number[]> = { ours: [], undici: [], official: [] };
  // CPU time of this process (Node-RED and the clients) and of the worker (the emulator) per round.
  const cpu: Record<Variant, number[]> = { ours: [], undici: [], official: [] };
  const emulatorCpu: Record<Variant, number[]> = { ours: [], undici: [], official: [] };
  try {
    // Warm-up: connections open, code paths compiled, on every side.
    for (const variant of order) await measure[variant](warmup);
    await worker.call('reset');
    for (let r = 0; r < rounds; r++) {
      const roundOrder = order.map((_, i) => order[(i + r) % order.length]!);
      const line: string[] = [];
      for (const variant of roundOrder) {
        const workerBefore = await worker.call('cpuMs');
        const before = process.cpuUsage();
        const ms = await measure[variant](count);
        const used = process.cpuUsage(before);
        emulatorCpu[variant].push((await worker.call('cpuMs')) - workerBefore);
        cpu[variant].push((used.user + used.system) / 1000);
        times[variant].push(ms);
        line.push(`${variant} ${ms.toFixed(0)} ms`);
      }
      await worker.call('reset'); // the emulator forgets the round's predictions
      const last = (v: Variant) => times[v][times[v].length - 1]!;
      report.note(
        `create round ${r + 1}: ${line.join(', ')} (ours/undici ${(last('ours') / last('undici')).toFixed(2)}, ` +
          `ours/official ${(last('ours') / last('official')).toFixed(2)})`,
      );
    }
  } finally {
    await pool.close();
    await red.clear();
    delete red.globals.replicate;
    delete red.globals.limit;
  }

  const ms = { ours: median(times.ours), undici: median(times.undici), official: median(times.official) };
  const ratios = {
    undici: times.ours.map((t, r) => t / times.undici[r]!),
    official: times.ours.map((t, r) => t / times.official[r]!),
  };
  const perSecond = (t: number) => Math.round((count / t) * 1000);
  const cpuPerRequest = (variant: Variant) => round((median(cpu[variant]) / count) * 1000, 1);
  const emulatorCpuPerRequest = (variant: Variant) => round((median(emulatorCpu[variant]) / count) * 1000, 1);
  report.note(
    `create medians: ours ${ms.ours.toFixed(0)} ms (${perSecond(ms.ours)}/s), undici ${ms.undici.toFixed(0)} ms (${perSecond(ms.undici)}/s), ` +
      `official client ${ms.official.toFixed(0)} ms (${perSecond(ms.official)}/s)`,
  );
  report.note(
    `create CPU per request in the Node-RED process: ours ${cpuPerRequest('ours')} us, undici ${cpuPerRequest('undici')} us, ` +
      `official ${cpuPerRequest('official')} us; in the emulator: ${emulatorCpuPerRequest('ours')} / ${emulatorCpuPerRequest('undici')} / ${emulatorCpuPerRequest('official')} us`,
  );
  if (errors > 0) report.note(`create: ${errors} failed; first: ${firstError}`);
  report.detail('create', {
    count,
    rounds,
    concurrency: CONCURRENCY,
    medianMs: { ours: round(ms.ours, 1), undici: round(ms.undici, 1), official: round(ms.official, 1) },
    perSecond: { ours: perSecond(ms.ours), undici: perSecond(ms.undici), official: perSecond(ms.official) },
    cpuPerRequestUs: { ours: cpuPerRequest('ours'), undici: cpuPerRequest('undici'), official: cpuPerRequest('official') },
    emulatorCpuPerRequestUs: { ours: emulatorCpuPerRequest('ours'), undici: emulatorCpuPerRequest('undici'), official: emulatorCpuPerRequest('official') },
    roundRatios: { oursVsUndici: ratios.undici.map((v) => round(v, 3)), oursVsOfficial: ratios.official.map((v) => round(v, 3)) },
    roundsMs: { ours: times.ours.map((t) => round(t, 1)), undici: times.undici.map((t) => round(t, 1)), official: times.official.map((t) => round(t, 1)) },
  });
  report.measured(LINES.undici, round(median(ratios.undici), 3));
  report.measured(LINES.official, round(median(ratios.official), 3));
  report.measured(LINES.errors, errors);
}
