// Waiting at scale: N predictions waited on at once by one get-prediction node
// (waitForCompletion, the default schedule: a poll every 2 s, at most 60). The emulator finishes
// them spread over about a minute (15 s in quick mode). Reported: each delivered exactly once,
// the heap growth while waiting (after full collections), and the polls each prediction took
// against what its schedule allows.
import { performance } from 'node:perf_hooks';
import { DEFAULT_TOKEN } from '../emulator';
import type { FaultSpec } from '../emulator';
import type { Bench, BenchContext, PlannedLine } from './context';
import { MODEL } from './create';
import { benchConfig, onTab } from './node-red-host';
import { MB, round, settledHeap, sleep, Tally } from './util';

const POLL_INTERVAL_S = 2;
const MAX_POLLS = 60;
const STARTING_MS = 500;

function sizes(quick: boolean) {
  return quick ? { count: 1500, spreadMs: 15_000, buckets: 15 } : { count: 10_000, spreadMs: 60_000, buckets: 60 };
}

function lines(quick: boolean) {
  return {
    once: { name: 'wait.delivered_once', target: { op: '==', value: sizes(quick).count }, unit: 'predictions' },
    duplicates: { name: 'wait.duplicates', target: { op: '==', value: 0 }, unit: 'messages' },
    errors: { name: 'wait.errors', target: { op: '==', value: 0 }, unit: 'messages' },
    heap: { name: 'wait.heap_growth_mb', target: { op: '<', value: 60 }, unit: 'MB' },
    maxPolls: { name: 'wait.max_polls', target: { op: '<=', value: MAX_POLLS }, unit: 'polls' },
    overSchedule: { name: 'wait.polls_over_schedule', target: { op: '<=', value: 0 }, unit: 'polls' },
  } satisfies Record<string, PlannedLine>;
}

export const waitBench: Bench = {
  name: 'wait',
  needsRuntime: true,
  lines: (quick) => Object.values(lines(quick)),
  run,
};

/**
 * Durations so the predictions finish spread evenly over `spreadMs` after they are created: the
 * emulator's timing faults apply, in order, to the next `times` creates.
 */
function spreadTimings(count: number, spreadMs: number, buckets: number): FaultSpec[] {
  const perBucket = Math.ceil(count / buckets);
  return Array.from({ length: buckets }, (_, b) => ({
    type: 'timing' as const,
    startingMs: STARTING_MS,
    processingMs: Math.max(1, Math.round(((b + 1) * spreadMs) / buckets) - STARTING_MS),
    times: perBucket,
  }));
}

async function run({ quick, worker, red, report }: BenchContext): Promise<void> {
  const { count, spreadMs, buckets } = sizes(quick);
  const intervalMs = POLL_INTERVAL_S * 1000;
  // Every poll is recorded (in the worker) to count polls per prediction.
  const expectedPolls = count * (spreadMs / intervalMs / 2 + 3);
  const emulator = await worker.call('startEmulator', { recordRequests: Math.ceil(expectedPolls * 3) + count });
  await worker.call('faults', spreadTimings(count, spreadMs, buckets));
  const createStarted = performance.now();
  const ids = await worker.call('createMany', {
    count,
    concurrency: 50,
    path: `/models/${MODEL}/predictions`,
    input: { prompt: 'a lighthouse at dawn' },
  });
  report.note(
    `wait: ${count} predictions created in ${Math.round(performance.now() - createStarted)} ms, finishing over ${spreadMs / 1000} s; ` +
      `one get node waits on all of them, polling every ${POLL_INTERVAL_S} s, at most ${MAX_POLLS} polls`,
  );

  await red.deploy(
    [
      benchConfig('wait-cfg', emulator.url),
      ...onTab('wait-tab', [
        {
          id: 'wait-get',
          type: 'replicate-get-prediction',
          replicate: 'wait-cfg',
          predictionId: '',
          predictionIdType: 'str',
          waitForCompletion: true,
          pollInterval: POLL_INTERVAL_S,
          maxPolls: MAX_POLLS,
          backoff: false,
          cancelOnTimeout: false,
          splitOutputs: false,
          wires: [['wait-sink']],
        },
        { id: 'wait-sink', type: 'bench-sink', name: 'wait.out' },
        { id: 'wait-catch', type: 'catch', scope: null, uncaught: false, wires: [['wait-sink-errors']] },
        { id: 'wait-sink-errors', type: 'bench-sink', name: 'wait.errors' },
      ]),
    ],
    { 'wait-cfg': { token: DEFAULT_TOKEN } },
  );

  const created = new Set(ids);
  const deliveries = new Map<string, number>();
  const completedAt = new Map<string, number>();
  const statuses: Record<string, number> = {};
  const done = new Tally();
  let errors = 0;
  let firstError = '';
  let strangers = 0;
  let lastDeliveryAt = 0;
  red.onSink('wait.out', (msg) => {
    const id = String(msg.predictionId);
    const payload = msg.payload as { status?: string; completed_at?: string } | undefined;
    if (!created.has(id)) strangers++;
    deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
    if (payload?.completed_at) completedAt.set(id, Date.parse(payload.completed_at));
    statuses[payload?.status ?? '?'] = (statuses[payload?.status ?? '?'] ?? 0) + 1;
    lastDeliveryAt = performance.now();
    done.add();
  });
  red.onSink('wait.errors', (msg) => {
    errors++;
    firstError ||= String((msg.error as { message?: string } | undefined)?.message ?? 'unknown error');
    done.add();
  });

  // Heap: the figure after full collections, before the messages go in and every 2 s while waiting.
  const node = red.node('wait-get');
  const baseline = settledHeap();
  let peakSettled = baseline;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sleep(2000);
      if (!sampling) break;
      peakSettled = Math.max(peakSettled, settledHeap());
      samples++;
    }
  })();

  const waitStarted = Date.now();
  const started = performance.now();
  let timedOut = '';
  try {
    for (const id of ids) node.receive({ predictionId: id });
    report.note(`wait: ${count} messages in ${Math.round(performance.now() - started)} ms`);
    await done.reached(count, spreadMs + MAX_POLLS * intervalMs + 30_000, 'predictions delivered').catch((err: Error) => {
      timedOut = err.message;
    });
  } finally {
    sampling = false;
    await sampler;
  }
  const elapsed = (lastDeliveryAt || performance.now()) - started;
  peakSettled = Math.max(peakSettled, settledHeap());
  await sleep(200); // anything emitted twice would come now
  await red.clear();
  const afterHeap = settledHeap();
  const polls = await worker.call('pollCounts');
  await worker.call('stopEmulator');
  if (timedOut) report.note(`wait: ${timedOut}`);
  if (errors > 0) report.note(`wait: ${errors} errors; first: ${firstError}`);

  // Polls each prediction took against its schedule: spaced at least one interval apart from the
  // first at waitStarted, the poll that sees the end comes at most one interval after it.
  let maxPolls = 0;
  let overSchedule = -Infinity;
  let totalPolls = 0;
  for (const id of ids) {
    const n = polls[id] ?? 0;
    totalPolls += n;
    maxPolls = Math.max(maxPolls, n);
    const end = completedAt.get(id);
    if (end === undefined) continue;
    const allowed = Math.max(1, Math.floor((end - waitStarted) / intervalMs) + 2);
    overSchedule = Math.max(overSchedule, n - allowed);
  }
  const once = ids.filter((id) => deliveries.get(id) === 1).length;
  const duplicates = [...deliveries.values()].reduce((sum, n) => sum + n, 0) - deliveries.size;
  const growth = (peakSettled - baseline) / MB;

  report.note(
    `wait: last delivery after ${round(elapsed / 1000, 1)} s; ${totalPolls} polls (${round(totalPolls / count, 1)} per prediction, ` +
      `${Math.round(totalPolls / (elapsed / 1000))}/s); statuses ${JSON.stringify(statuses)}; heap ${round(baseline / MB, 1)} MB before, ` +
      `peak ${round(peakSettled / MB, 1)} MB over ${samples} settled samples, ${round(afterHeap / MB, 1)} MB after the flow was removed` +
      (strangers ? `; ${strangers} deliveries of unknown ids` : ''),
  );
  report.detail('wait', {
    count,
    spreadMs,
    pollIntervalS: POLL_INTERVAL_S,
    maxPollsAllowed: MAX_POLLS,
    lastDeliveryS: round(elapsed / 1000, 1),
    totalPolls,
    pollsPerPrediction: round(totalPolls / count, 2),
    maxPolls,
    pollsOverSchedule: Number.isFinite(overSchedule) ? overSchedule : null,
    deliveredOnce: once,
    duplicates,
    errors,
    statuses,
    heapBeforeMb: round(baseline / MB, 1),
    peakSettledHeapMb: round(peakSettled / MB, 1),
    heapGrowthMb: round(growth, 1),
    heapAfterRemovalMb: round(afterHeap / MB, 1),
  });
  const line = lines(quick);
  report.measured(line.once, once);
  report.measured(line.duplicates, duplicates);
  report.measured(line.errors, errors);
  report.measured(line.heap, round(growth, 1));
  report.measured(line.maxPolls, maxPolls);
  report.measured(line.overSchedule, Number.isFinite(overSchedule) ? overSchedule : NaN);
}
