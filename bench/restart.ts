// Waits resumed after a restart: N waits of one get-prediction node saved in its context (as
// Keep waits across restarts saves them: prediction id and message), their predictions all
// finished while Node-RED was down. The node is then deployed as on a start and resumes them.
// Reported: the time until every result was sent, the heap growth (after full collections),
// and that each was sent exactly once.
import { performance } from 'node:perf_hooks';
import { DEFAULT_TOKEN } from '../emulator';
import { WaitStore, type WaitContext } from '../nodes/core';
import { resolveNodeRed } from '../test/support/node-red-host';
import type { Bench, BenchContext, PlannedLine } from './context';
import { MODEL } from './create';
import { benchConfig, onTab } from './node-red-host';
import { MB, round, settledHeap, sleep, Tally } from './util';

const INSTANCE = 'bench-restart';

function sizes(quick: boolean) {
  return { count: quick ? 2000 : 10_000 };
}

function lines(quick: boolean) {
  return {
    resumeMs: { name: 'restart.resume_all_ms', target: { op: '<', value: quick ? 15_000 : 60_000 }, unit: 'ms' },
    once: { name: 'restart.resumed_once', target: { op: '==', value: sizes(quick).count }, unit: 'waits' },
    lost: { name: 'restart.lost', target: { op: '==', value: 0 }, unit: 'waits' },
    duplicates: { name: 'restart.duplicates', target: { op: '==', value: 0 }, unit: 'messages' },
    heap: { name: 'restart.heap_growth_mb', target: { op: '<', value: 60 }, unit: 'MB' },
  } satisfies Record<string, PlannedLine>;
}

export const restartBench: Bench = {
  name: 'restart',
  needsRuntime: true,
  lines: (quick) => Object.values(lines(quick)),
  run,
};

async function run({ quick, worker, red, report }: BenchContext): Promise<void> {
  const { count } = sizes(quick);
  const emulator = await worker.call('startEmulator', { recordRequests: count * 3 });
  await worker.call('faults', [{ type: 'timing', startingMs: 5, processingMs: 5, times: count }]);
  const ids = await worker.call('createMany', {
    count,
    concurrency: 50,
    path: `/models/${MODEL}/predictions`,
    input: { prompt: 'a lighthouse' },
  });
  await sleep(500); // all finished while "down"

  // The waits as the node saved them before the restart, in its context (the runtime's memory store).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the context module of the Node-RED running in this process
  const contexts = require(resolveNodeRed('@node-red/runtime/lib/nodes/context')) as { get(node: string, flow: string): WaitContext };
  const saved = new WaitStore(contexts.get('restart-get', 'restart-tab'), undefined, INSTANCE);
  await Promise.all(
    ids.map((id, i) => saved.save(WaitStore.keyOf(id, `m${i}`), id, { _msgid: `m${i}`, topic: `job-${i}`, predictionId: id })),
  );

  const deliveries = new Map<string, number>();
  const done = new Tally();
  let errors = 0;
  red.onSink('restart.out', (msg) => {
    const id = String(msg.predictionId);
    deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
    done.add();
  });
  red.onSink('restart.errors', () => {
    errors++;
    done.add();
  });

  const previous = process.env.REPLICATE_WAITS_INSTANCE;
  process.env.REPLICATE_WAITS_INSTANCE = INSTANCE;
  const baseline = settledHeap();
  let peak = baseline;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sleep(1000);
      if (sampling) peak = Math.max(peak, settledHeap());
    }
  })();
  const started = performance.now();
  let timedOut = '';
  try {
    await red.deploy(
      [
        benchConfig('restart-cfg', emulator.url, { keepWaits: true }),
        ...onTab('restart-tab', [
          {
            id: 'restart-get',
            type: 'replicate-get-prediction',
            replicate: 'restart-cfg',
            predictionId: '',
            predictionIdType: 'str',
            waitForCompletion: true,
            pollInterval: 2,
            maxPolls: 60,
            wires: [['restart-sink']],
          },
          { id: 'restart-sink', type: 'bench-sink', name: 'restart.out' },
          { id: 'restart-catch', type: 'catch', scope: null, uncaught: false, wires: [['restart-sink-errors']] },
          { id: 'restart-sink-errors', type: 'bench-sink', name: 'restart.errors' },
        ]),
      ],
      { 'restart-cfg': { token: DEFAULT_TOKEN } },
    );
    await done.reached(count, 120_000, 'waits resumed').catch((err: Error) => {
      timedOut = err.message;
    });
  } finally {
    sampling = false;
    await sampler;
    if (previous === undefined) delete process.env.REPLICATE_WAITS_INSTANCE;
    else process.env.REPLICATE_WAITS_INSTANCE = previous;
  }
  const elapsed = performance.now() - started;
  peak = Math.max(peak, settledHeap());
  await sleep(500); // anything sent twice would come now
  const left = (await saved.all()).size;
  await red.clear();
  await worker.call('stopEmulator');
  if (timedOut) report.note(`restart: ${timedOut}`);

  const once = ids.filter((id) => deliveries.get(id) === 1).length;
  const duplicates = [...deliveries.values()].reduce((sum, n) => sum + n, 0) - deliveries.size;
  const lost = ids.filter((id) => !deliveries.has(id)).length;
  report.note(
    `restart: ${count} saved waits resumed in ${Math.round(elapsed)} ms (deploy included); ${errors} errors; ` +
      `${left} still saved after their results were sent; heap ${round(baseline / MB, 1)} MB before, peak ${round(peak / MB, 1)} MB`,
  );
  report.detail('restart', {
    count,
    resumeMs: Math.round(elapsed),
    once,
    lost,
    duplicates,
    errors,
    stillSaved: left,
    heapGrowthMb: round((peak - baseline) / MB, 1),
  });
  const line = lines(quick);
  report.measured(line.resumeMs, Math.round(elapsed));
  report.measured(line.once, once);
  report.measured(line.lost, lost);
  report.measured(line.duplicates, duplicates);
  report.measured(line.heap, round((peak - baseline) / MB, 1));
}
