// `npm run bench` (and `npm run bench -- --quick`): every benchmark of issue #6 against the local
// Replicate emulator on 127.0.0.1, each result printed as one line
// `NAME VALUE (target T) ok|miss`, and the whole run written to bench/results/latest.json.
//
// Options: --quick (reduced sizes, under 2 minutes), --only=create,wait,... (a subset),
// --out=FILE (another results file). A miss is reported, never a failure: the exit code is
// non-zero only when something crashed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { catalogBench } from './catalog';
import type { Bench } from './context';
import { createBench } from './create';
import { filesBench } from './files';
import { loadBench } from './load';
import { NodeRedHost, ROOT } from './node-red-host';
import { Reporter } from './report';
import { restartBench } from './restart';
import { streamBench } from './stream';
import { waitBench } from './wait';
import { webhookBench } from './webhook';
import { Worker } from './worker-client';

const BENCHES: Bench[] = [loadBench, createBench, webhookBench, catalogBench, waitBench, restartBench, streamBench, filesBench];

interface Options {
  quick: boolean;
  only?: string[];
  out: string;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, out: path.join(ROOT, 'bench', 'results', 'latest.json') };
  for (const arg of argv) {
    if (arg === '--quick') options.quick = true;
    else if (arg.startsWith('--only=')) options.only = arg.slice('--only='.length).split(',').filter(Boolean);
    else if (arg.startsWith('--out=')) options.out = path.resolve(arg.slice('--out='.length));
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node dist/bench/run.js [--quick] [--only=load,create,webhook,catalog,wait,restart,stream,files] [--out=FILE]');
      process.exit(0);
    } else {
      console.error(`Unknown option ${arg} (try --help)`);
      process.exit(2);
    }
  }
  const unknown = options.only?.filter((name) => !BENCHES.some((b) => b.name === name)) ?? [];
  if (unknown.length > 0) {
    console.error(`Unknown benchmark(s): ${unknown.join(', ')}; there are ${BENCHES.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  return options;
}

/** Heap growth is measured after full collections: without --expose-gc, run again with it. */
function respawnWithGc(): Promise<number> {
  const child = spawn(process.execPath, ['--expose-gc', ...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

function packageVersion(name: string): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the installed version, read at run time
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const benches = BENCHES.filter((b) => !options.only || options.only.includes(b.name));
  const report = new Reporter();
  const startedAt = new Date();
  const started = performance.now();
  report.note(
    `bench (${options.quick ? 'quick' : 'full'}): node ${process.version}, node-red ${packageVersion('node-red')}, ` +
      `${os.cpus().length} x ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB`,
  );

  let worker: Worker | undefined;
  let red: NodeRedHost | undefined;
  let crashed = false;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await red?.stop().catch((err: Error) => report.note(`Node-RED did not stop cleanly: ${err.message}`));
      await worker?.stop().catch((err: Error) => report.note(`the worker did not stop cleanly: ${err.message}`));
    })());
  const interrupted = (signal: string) => () => {
    report.note(`${signal}: stopping`);
    void cleanup().then(() => process.exit(130));
  };
  process.on('SIGINT', interrupted('SIGINT'));
  process.on('SIGTERM', interrupted('SIGTERM'));

  const durations: Record<string, number> = {};
  try {
    if (benches.some((b) => b.needsRuntime)) {
      worker = await Worker.start();
      red = new NodeRedHost();
      await red.start();
    }
    for (const bench of benches) {
      const benchStarted = performance.now();
      try {
        await bench.run({ quick: options.quick, worker: worker!, red: red!, report });
      } catch (err) {
        crashed = true;
        report.note(`${bench.name} crashed: ${(err as Error).stack ?? String(err)}`);
        const printed = new Set(report.results.map((r) => r.name));
        for (const line of bench.lines(options.quick)) {
          if (!printed.has(line.name)) report.unmeasured(line.name, line.target, line.unit, `crashed: ${(err as Error).message}`);
        }
        await red?.clear().catch(() => undefined);
      }
      durations[bench.name] = Math.round(performance.now() - benchStarted);
      report.note(`${bench.name} took ${(durations[bench.name]! / 1000).toFixed(1)} s`);
    }
  } catch (err) {
    crashed = true;
    report.note(`The bench could not run: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await cleanup();
  }

  const totalMs = Math.round(performance.now() - started);
  const misses = report.results.filter((r) => !r.ok).length;
  report.note(`${report.results.length} results, ${misses} missed, in ${(totalMs / 1000).toFixed(1)} s`);

  const record = {
    generatedAt: startedAt.toISOString(),
    mode: options.quick ? 'quick' : 'full',
    command: options.quick ? 'npm run bench -- --quick' : 'npm run bench',
    environment: {
      node: process.version,
      nodeRed: packageVersion('node-red'),
      replicateClient: packageVersion('replicate'),
      undici: packageVersion('undici'),
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model.trim(),
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
    },
    durationMs: { total: totalMs, ...durations },
    crashed,
    results: report.results,
    details: report.info,
  };
  try {
    fs.mkdirSync(path.dirname(options.out), { recursive: true });
    fs.writeFileSync(options.out, JSON.stringify(record, null, 2) + '\n');
    report.note(`results written to ${path.relative(process.cwd(), options.out) || options.out}`);
  } catch (err) {
    crashed = true;
    report.note(`could not write ${options.out}: ${(err as Error).message}`);
  }
  return crashed ? 1 : 0;
}

if (require.main === module) {
  const run = typeof (globalThis as { gc?: unknown }).gc === 'function' ? main() : respawnWithGc();
  run.then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
