// Load: how long Node-RED takes to require this package's node files and register their types,
// measured in fresh processes (a warm module cache would hide the cost). The node files load the
// Replicate core lazily, on the first message, so this stays small. Median of several runs.
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Bench, BenchContext, PlannedLine } from './context';
import { median, round } from './util';

interface ChildResult {
  ms: number;
  files: number;
  registered: string[];
  modulesLoaded: number;
  coreLoaded: boolean;
  dependenciesLoaded: number;
}

function runChild(): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'load-child.js')], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`load child failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildResult);
      } catch {
        reject(new Error(`load child printed no result: ${stdout}\n${stderr}`));
      }
    });
  });
}

const LINES = {
  require: { name: 'load.require_ms', target: { op: '<', value: 150 }, unit: 'ms' },
} satisfies Record<string, PlannedLine>;

export const loadBench: Bench = {
  name: 'load',
  needsRuntime: false,
  lines: () => Object.values(LINES),
  async run({ quick, report }: BenchContext) {
    const runs = quick ? 5 : 11;
    const results: ChildResult[] = [];
    for (let i = 0; i < runs; i++) results.push(await runChild());
    const times = results.map((r) => r.ms);
    const first = results[0]!;
    report.note(
      `load: ${first.files} node files, ${first.registered.length} types registered, ${first.modulesLoaded} modules loaded ` +
        `(${first.dependenciesLoaded} from node_modules, Replicate core ${first.coreLoaded ? 'loaded' : 'not loaded'}); ` +
        `${runs} fresh processes: min ${Math.min(...times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`,
    );
    report.detail('load', {
      runs,
      medianMs: round(median(times), 2),
      runsMs: times.map((t) => round(t, 2)),
      files: first.files,
      registered: first.registered,
      modulesLoaded: first.modulesLoaded,
      coreLoaded: first.coreLoaded,
    });
    report.measured(LINES.require, round(median(times), 2));
  },
};
