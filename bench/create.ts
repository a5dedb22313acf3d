// Create throughput: N messages through a deployed create-prediction node (50 in flight, set by
// the config node), against
// - the same N create requests made straight with an undici Pool of 50 connections (the
//   physical limit: no Node-RED at all),
// - the same requests made with an undici Pool of 50 connections from a core function node
//   (Node-RED's own cost per message, none of ours),
// - the official `replicate` client called from a core function node (50 in flight).
// Ours, raw undici and the function node with undici run side by side, round after round in
// balanced orders; then ours and the official client, in rounds of their own. A ratio is the
// median of the rounds' ratios: each compares runs made seconds apart, so a neighbour process
// stealing CPU for a while skews a round or two, not the result. CPU per request is this
// process's (Node-RED and the clients) user + system time over a run, per create.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { DEFAULT_TOKEN } from '../emulator';
import type { Bench, BenchContext, PlannedLine } from './context';
import { BENCH_CONFIG_NOTE, benchConfig, onTab } from './node-red-host';
import { limiter, median, pooled, round, settledHeap, Tally } from './util';

export const MODEL = 'black-forest-labs/flux-schnell';
const CONCURRENCY = 50;

type Variant = 'ours' | 'undici' | 'functionUndici' | 'official';
const VARIANTS: Variant[] = ['ours', 'undici', 'functionUndici', 'official'];

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

// The function node a user would write around undici: the Pool (50 connections, its own queue
// holds the rest) and the request headers come from functionGlobalContext.
const UNDICI_FUNCTION = `
const bench = global.get('bench');
const response = await bench.pool.request({ method: 'POST', path: bench.createPath, headers: bench.headers, body: JSON.stringify({ input: msg.payload }) });
const text = await response.body.text();
if (response.statusCode !== 201) throw new Error('HTTP ' + response.statusCode + ': ' + text.slice(0, 200));
const prediction = JSON.parse(text);
msg.payload = prediction;
msg.predictionId = prediction.id;
msg.status = prediction.status;
return msg;
`;

function sizes(quick: boolean) {
  // Rounds: a multiple of 6, so that both comparisons run in balanced orders (see orderOf).
  return quick ? { count: 500, rounds: 6, warmup: 2000 } : { count: 2000, rounds: 12, warmup: 3000 };
}

const LINES = {
  // Raw undici is the physical limit, below Node-RED's own message handling: see bench/README.md.
  undici: { name: 'create.ours_vs_undici', target: { op: '<=', value: 1.3 }, unit: 'time ratio' },
  functionUndici: { name: 'create.ours_vs_function_undici', target: { op: '<=', value: 1.1 }, unit: 'time ratio' },
  cpuFunctionUndici: { name: 'create.cpu_ours_vs_function_undici', target: { op: '<=', value: 1.1 }, unit: 'CPU ratio' },
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
  report.note(
    `create: ${count} creates of ${MODEL} per variant and round, ${rounds} rounds, ${CONCURRENCY} in flight; ${BENCH_CONFIG_NOTE}`,
  );

  const createPath = `/v1/models/${MODEL}/predictions`;
  const headers = { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json', accept: 'application/json' };
  // The official client, as a user would set it up, handed to the function node.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when this benchmark runs (it is timed against ours)
  const Replicate = require('replicate') as new (options: { auth: string; baseUrl: string }) => unknown;
  red.globals.replicate = new Replicate({ auth: DEFAULT_TOKEN, baseUrl: emulator.url });
  red.globals.limit = limiter(CONCURRENCY);
  // undici for the function node: a Pool of its own, so it shares no connection with the raw variant.
  const functionPool = new Pool(emulator.origin, { connections: CONCURRENCY });
  Object.assign(red.globals, { pool: functionPool, createPath, headers });

  await red.deploy(
    [
      benchConfig('create-cfg', emulator.url),
      ...onTab('create-tab', [
        {
          id: 'create-ours',
          type: 'replicate-create-prediction',
          replicate: 'create-cfg',
          model: MODEL,
          deployment: '',
          input: '{}',
          wait: 'none',
          wires: [['create-sink-ours']],
        },
        { id: 'create-sink-ours', type: 'bench-sink', name: 'create.ours' },
        functionNode('create-function-undici', 'undici', UNDICI_FUNCTION, 'create-sink-function-undici'),
        { id: 'create-sink-function-undici', type: 'bench-sink', name: 'create.functionUndici' },
        functionNode('create-official', 'official client', OFFICIAL_FUNCTION, 'create-sink-official'),
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
  red.onSink('create.functionUndici', arrived);
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
    functionUndici: (n) => throughNode('create-function-undici', n),
    official: (n) => throughNode('create-official', n),
    undici: async (n) => {
      const started = performance.now();
      await pooled(n, CONCURRENCY, async (i) => {
        const response = await pool.request({
          method: 'POST',
          path: createPath,
          headers,
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

  interface Runs {
    ms: number[];
    /** CPU time of this process (Node-RED and the clients) and of the worker (the emulator). */
    cpuMs: number[];
    emulatorCpuMs: number[];
  }
  const last = (values: number[]) => values[values.length - 1]!;
  /**
   * Round r's order: the rotations of the variants, then the rotations of them reversed. Over
   * 2n rounds (n variants) each variant runs first, and right after each other one, equally
   * often: a variant that runs first, or after a given other, costs more for reasons that are
   * not its own (the collection of what ran before it, a cold connection), and no variant should
   * get that more often than another.
   */
  const orderOf = <V>(variants: V[], r: number): V[] => {
    const base = Math.floor(r / variants.length) % 2 === 0 ? variants : [...variants].reverse();
    return base.map((_, i) => base[(i + r) % base.length]!);
  };
  /** Rounds of `variants` in the orders orderOf gives, each round noted with what `summary` makes of it. */
  const compare = async <V extends Variant>(label: string, variants: V[], summary: (runs: Record<V, Runs>) => string) => {
    const runs = Object.fromEntries(variants.map((v) => [v, { ms: [], cpuMs: [], emulatorCpuMs: [] }])) as unknown as Record<V, Runs>;
    for (let r = 0; r < rounds; r++) {
      const line: string[] = [];
      for (const variant of orderOf(variants, r)) {
        const workerBefore = await worker.call('cpuMs');
        const before = process.cpuUsage();
        const ms = await measure[variant](count);
        const used = process.cpuUsage(before);
        const run = runs[variant];
        run.emulatorCpuMs.push((await worker.call('cpuMs')) - workerBefore);
        run.cpuMs.push((used.user + used.system) / 1000);
        run.ms.push(ms);
        line.push(`${variant} ${ms.toFixed(0)} ms / ${((last(run.cpuMs) / count) * 1000).toFixed(0)} us CPU`);
      }
      await worker.call('reset'); // the emulator forgets the round's predictions
      report.note(`create ${label}round ${r + 1}: ${line.join(', ')} (${summary(runs)})`);
    }
    return runs;
  };
  const ratio = (a: Runs, b: Runs, field: keyof Runs = 'ms') => (last(a[field]) / last(b[field])).toFixed(2);

  let main: Record<'ours' | 'undici' | 'functionUndici', Runs>;
  let vsOfficial: Record<'ours' | 'official', Runs>;
  try {
    // Warm-up: connections open, code paths compiled, on every side; the official client first,
    // as it leaves the most garbage.
    for (const variant of ['official', 'functionUndici', 'undici', 'ours'] as const) await measure[variant](warmup);
    // The warm-up's garbage is collected now, not on the first round's time; a forced collection
    // leaves the code slow for a while, so the variants warm up once more.
    await worker.call('reset');
    settledHeap();
    for (const variant of ['functionUndici', 'undici', 'ours'] as const) await measure[variant](warmup / 2);
    await worker.call('reset');
    main = await compare(
      '',
      ['ours', 'undici', 'functionUndici'],
      (runs) =>
        `ours/undici ${ratio(runs.ours, runs.undici)}, ours/function undici ${ratio(runs.ours, runs.functionUndici)}, ` +
        `CPU ours/function undici ${ratio(runs.ours, runs.functionUndici, 'cpuMs')}`,
    );
    // The official client leaves several times the garbage of any other variant, and whoever runs
    // next pays for collecting it: it is compared with ours in rounds of its own.
    vsOfficial = await compare('vs official ', ['ours', 'official'], (runs) => `ours/official ${ratio(runs.ours, runs.official)}`);
  } finally {
    await pool.close();
    await red.clear();
    await functionPool.close();
    for (const key of ['replicate', 'limit', 'pool', 'createPath', 'headers']) delete red.globals[key];
  }

  const runsOf: Record<Variant, Runs> = { ...main, official: vsOfficial.official };
  const perVariant = <T>(make: (v: Variant) => T) => Object.fromEntries(VARIANTS.map((v) => [v, make(v)])) as Record<Variant, T>;
  const roundRatios = (a: Runs, b: Runs, field: keyof Runs = 'ms') => a[field].map((value, r) => value / b[field][r]!);
  const ratios = {
    undici: roundRatios(main.ours, main.undici),
    functionUndici: roundRatios(main.ours, main.functionUndici),
    cpuFunctionUndici: roundRatios(main.ours, main.functionUndici, 'cpuMs'),
    official: roundRatios(vsOfficial.ours, vsOfficial.official),
  };
  const ms = perVariant((v) => median(runsOf[v].ms));
  const perSecond = (t: number) => Math.round((count / t) * 1000);
  const cpuPerRequest = (v: Variant) => round((median(runsOf[v].cpuMs) / count) * 1000, 1);
  const emulatorCpuPerRequest = (v: Variant) => round((median(runsOf[v].emulatorCpuMs) / count) * 1000, 1);
  const each = (f: (v: Variant) => string) => VARIANTS.map((v) => `${v} ${f(v)}`).join(', ');
  report.note(`create medians: ${each((v) => `${ms[v].toFixed(0)} ms (${perSecond(ms[v])}/s)`)}`);
  report.note(`create CPU per request in the Node-RED process: ${each((v) => `${cpuPerRequest(v)} us`)}`);
  report.note(`create CPU per request in the emulator: ${each((v) => `${emulatorCpuPerRequest(v)} us`)}`);
  // What Node-RED's message handling costs by itself: the floor of ours/undici for any node.
  const nodeRedCost = median(roundRatios(main.functionUndici, main.undici));
  report.note(`create Node-RED's own cost: function undici/undici ${nodeRedCost.toFixed(2)} (median of the rounds)`);
  if (errors > 0) report.note(`create: ${errors} failed; first: ${firstError}`);
  const rounded = (values: number[], digits: number) => values.map((v) => round(v, digits));
  report.detail('create', {
    count,
    rounds,
    concurrency: CONCURRENCY,
    medianMs: perVariant((v) => round(ms[v], 1)),
    perSecond: perVariant((v) => perSecond(ms[v])),
    cpuPerRequestUs: perVariant(cpuPerRequest),
    emulatorCpuPerRequestUs: perVariant(emulatorCpuPerRequest),
    functionUndiciVsUndici: round(nodeRedCost, 3),
    roundRatios: {
      oursVsUndici: rounded(ratios.undici, 3),
      oursVsFunctionUndici: rounded(ratios.functionUndici, 3),
      cpuOursVsFunctionUndici: rounded(ratios.cpuFunctionUndici, 3),
      oursVsOfficial: rounded(ratios.official, 3),
    },
    roundsMs: { ...perVariant((v) => rounded(runsOf[v].ms, 1)), oursVsOfficialRounds: rounded(vsOfficial.ours.ms, 1) },
    roundsCpuMs: perVariant((v) => rounded(runsOf[v].cpuMs, 1)),
  });
  report.measured(LINES.undici, round(median(ratios.undici), 3));
  report.measured(LINES.functionUndici, round(median(ratios.functionUndici), 3));
  report.measured(LINES.cpuFunctionUndici, round(median(ratios.cpuFunctionUndici), 3));
  report.measured(LINES.official, round(median(ratios.official), 3));
  report.measured(LINES.errors, errors);
}

/** A core function node as a user would add it, every property written out. */
function functionNode(id: string, name: string, func: string, sink: string) {
  return { id, type: 'function', name, func, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [[sink]] };
}
