#!/usr/bin/env node
// `npm run emulator`: a local Replicate API for building and trying flows offline.
import { parseArgs } from 'node:util';
import { DEFAULT_TOKEN, startEmulator, type EmulatorAccount, type EmulatorOptions } from './index';

const USAGE = `Usage: node dist/emulator/cli.js [options]
  --port N             port to listen on (default 8788)
  --stream-port N      port of the stream origin, where event streams are read (default: any free port)
  --host HOST          address to listen on (default 127.0.0.1)
  --token TOKEN        an API token to accept; repeat for more accounts (default ${DEFAULT_TOKEN})
  --timing MODE        catalog (durations from each model's example run) or fixed (default catalog)
  --time-scale X       multiplier for catalog timing (default 0.25)
  --starting-ms N      fixed timing: time spent "starting" (default 100)
  --processing-ms N    fixed timing: time spent "processing" (default 400)
  --page-size N        items per page of lists (default 25)
  --retention SECONDS  a prediction's input, logs, output and output files are removed this long
                       after it ends (default 3600, as on Replicate)
  --sync-data-urls     sync creates (Prefer: wait) send output files inline as data: URLs
                       (default: URLs on the emulator, as Replicate sends them)
  --cold-start-ms N    a model stays "starting" N ms longer on its first prediction and after
                       10 idle minutes (default 0; Replicate's cold starts take minutes)
  --sync-wait-scale X  multiplier for how long Prefer: wait holds a response (default 1)
  --rate-limits        Replicate's rate limits: 600 creates/min, 3000 other requests/min
  --low-credit         the first account has less than $5 of credit: with --rate-limits,
                       6 creates/min with a burst of 1
  --quiet              no request log
  --help               this text`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function number(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) fail(`--${name} must be a non-negative number, not "${value}"`);
  return parsed;
}

function parseOptions(): { options: EmulatorOptions; quiet: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string', default: '8788' },
        'stream-port': { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        token: { type: 'string', multiple: true },
        timing: { type: 'string', default: 'catalog' },
        'time-scale': { type: 'string' },
        'starting-ms': { type: 'string' },
        'processing-ms': { type: 'string' },
        'page-size': { type: 'string' },
        retention: { type: 'string' },
        'sync-data-urls': { type: 'boolean', default: false },
        'cold-start-ms': { type: 'string' },
        'sync-wait-scale': { type: 'string' },
        'rate-limits': { type: 'boolean', default: false },
        'low-credit': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.timing !== 'catalog' && values.timing !== 'fixed') fail(`--timing must be "catalog" or "fixed", not "${values.timing}"`);
  const tokens = values.token ?? [DEFAULT_TOKEN];
  const accounts: EmulatorAccount[] = tokens.map((token, index) =>
    index === 0
      ? { token, username: 'emulator', name: 'Replicate Emulator', type: 'user', lowCredit: values['low-credit'] }
      : { token, username: `emulator-${index + 1}`, name: `Replicate Emulator ${index + 1}`, type: 'user' },
  );
  const options: EmulatorOptions = {
    port: number('port', values.port, 8788),
    streamPort: number('stream-port', values['stream-port'], 0),
    host: values.host,
    accounts,
    timing:
      values.timing === 'catalog'
        ? 'catalog'
        : {
            startingMs: number('starting-ms', values['starting-ms'], 100),
            processingMs: number('processing-ms', values['processing-ms'], 400),
          },
    timeScale: number('time-scale', values['time-scale'], 0.25),
    pageSize: number('page-size', values['page-size'], 25),
    retentionSeconds: number('retention', values.retention, 3600),
    syncOutputs: values['sync-data-urls'] ? 'data-url' : 'url',
    coldStartMs: number('cold-start-ms', values['cold-start-ms'], 0),
    syncWaitScale: number('sync-wait-scale', values['sync-wait-scale'], 1),
    rateLimits: values['rate-limits'],
  };
  return { options, quiet: values.quiet };
}

async function main(): Promise<void> {
  const { options, quiet } = parseOptions();
  const emulator = await startEmulator({ ...options, log: quiet ? undefined : (line) => console.log(line) });
  const lines = [`Replicate emulator listening: ${emulator.url}`];
  for (const account of options.accounts ?? []) {
    const { token, username, webhookSecret } = emulator.account(account.token);
    lines.push(`  API token:      ${token}  (account "${username}")`, `  webhook secret: ${webhookSecret}`);
  }
  lines.push(`  streams:        ${emulator.streamOrigin}/v1/streams/... (no token)`);
  lines.push(`  control API:    ${emulator.origin}/_emulator (faults, stats, requests, reset)`, 'Press Ctrl+C to stop.');
  console.log(lines.join('\n'));

  const stop = (signal: string): void => {
    console.log(`${signal}: stopping the emulator`);
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`The emulator could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
