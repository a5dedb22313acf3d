// What every benchmark gets: the mode, the emulator worker, the embedded Node-RED and the reporter.
import type { NodeRedHost } from './node-red-host';
import type { Reporter } from './report';
import type { Worker } from './worker-client';

export interface BenchContext {
  quick: boolean;
  worker: Worker;
  red: NodeRedHost;
  report: Reporter;
}

/** A result line a benchmark promises, printed as a miss with n/a when the benchmark crashes. */
export interface PlannedLine {
  name: string;
  target: { op: '<' | '<=' | '>' | '>=' | '=='; value: number };
  unit: string;
}

export interface Bench {
  name: string;
  lines(quick: boolean): PlannedLine[];
  /** Needs the worker and Node-RED; the load benchmark runs child processes only. */
  needsRuntime: boolean;
  run(ctx: BenchContext): Promise<void>;
}
