// Catalog: every public model (3,800+) through one list-models node with allPages, as one
// message: the time it takes and the memory it needs at its peak (heap and RSS sampled every
// 5 ms, against the heap after a full collection before the message goes in). The targets are
// sanity bounds: a regression that copies the catalog several times over, or fetches pages
// one by one slowly, misses them.
import { performance } from 'node:perf_hooks';
import { DEFAULT_TOKEN } from '../emulator';
import type { Bench, BenchContext, PlannedLine } from './context';
import { benchConfig, onTab } from './node-red-host';
import { MB, memorySampler, round, settledHeap, Tally } from './util';

const PAGE_SIZE = 25;

const LINES = {
  models: { name: 'catalog.models', target: { op: '>=', value: 3800 }, unit: 'models' },
  time: { name: 'catalog.time_ms', target: { op: '<', value: 15_000 }, unit: 'ms' },
  heap: { name: 'catalog.peak_heap_growth_mb', target: { op: '<', value: 256 }, unit: 'MB' },
  rss: { name: 'catalog.peak_rss_mb', target: { op: '<', value: 512 }, unit: 'MB' },
} satisfies Record<string, PlannedLine>;

export const catalogBench: Bench = {
  name: 'catalog',
  needsRuntime: true,
  lines: () => Object.values(LINES),
  run,
};

async function run({ worker, red, report }: BenchContext): Promise<void> {
  const emulator = await worker.call('startEmulator', { recordRequests: 0, pageSize: PAGE_SIZE });
  await red.deploy(
    [
      benchConfig('catalog-cfg', emulator.url),
      ...onTab('catalog-tab', [
        {
          id: 'catalog-list',
          type: 'replicate-list-models',
          replicate: 'catalog-cfg',
          query: '',
          allPages: true,
          maxPages: 10_000,
          sortBy: '',
          sortDirection: '',
          wires: [['catalog-sink']],
        },
        { id: 'catalog-sink', type: 'bench-sink', name: 'catalog.out' },
        { id: 'catalog-catch', type: 'catch', scope: null, uncaught: false, wires: [['catalog-sink-errors']] },
        { id: 'catalog-sink-errors', type: 'bench-sink', name: 'catalog.errors' },
      ]),
    ],
    { 'catalog-cfg': { token: DEFAULT_TOKEN } },
  );

  const done = new Tally();
  let models = -1;
  let pages = -1;
  let next: unknown;
  let failure = '';
  red.onSink('catalog.out', (msg) => {
    models = Array.isArray(msg.payload) ? msg.payload.length : -1;
    pages = typeof msg.pages === 'number' ? msg.pages : -1;
    next = msg.next;
    done.add();
  });
  red.onSink('catalog.errors', (msg) => {
    failure = String((msg.error as { message?: string } | undefined)?.message ?? 'unknown error');
    done.add();
  });

  let elapsed: number;
  let peak: { peakHeap: number; peakRss: number };
  const baseline = settledHeap();
  const sampler = memorySampler(5);
  try {
    const started = performance.now();
    red.node('catalog-list').receive({});
    await done.reached(1, 120_000, 'catalog messages');
    elapsed = performance.now() - started;
  } finally {
    peak = sampler.stop();
    await red.clear();
  }
  if (failure) throw new Error(`list-models failed: ${failure}`);

  const heapGrowth = (peak.peakHeap - baseline) / MB;
  report.note(
    `catalog: ${models} models in ${pages} pages of ${PAGE_SIZE} (next ${JSON.stringify(next)}) in ${Math.round(elapsed)} ms; ` +
      `heap ${round(baseline / MB, 1)} MB before, peak ${round(peak.peakHeap / MB, 1)} MB; peak RSS ${round(peak.peakRss / MB, 1)} MB ` +
      `(targets are sanity bounds)`,
  );
  report.detail('catalog', {
    models,
    pages,
    pageSize: PAGE_SIZE,
    ms: Math.round(elapsed),
    heapBeforeMb: round(baseline / MB, 1),
    peakHeapMb: round(peak.peakHeap / MB, 1),
    peakHeapGrowthMb: round(heapGrowth, 1),
    peakRssMb: round(peak.peakRss / MB, 1),
  });
  report.measured(LINES.models, models);
  report.measured(LINES.time, Math.round(elapsed));
  report.measured(LINES.heap, round(heapGrowth, 1));
  report.measured(LINES.rss, round(peak.peakRss / MB, 1));
}
