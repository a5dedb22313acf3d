// Run in a fresh process by bench/load.ts: requires every node file the package declares and
// calls it with a stand-in for Node-RED's RED, as Node-RED's registry does at start, and prints
// how long that took as JSON. Nothing but Node's built-ins is loaded before the clock starts.
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.join(__dirname, '..', '..');

interface Pkg {
  'node-red': { nodes: Record<string, string> };
}

function redStub(registered: string[]) {
  const noop = () => undefined;
  const routes = { get: noop, post: noop, put: noop, delete: noop, use: noop };
  return {
    nodes: {
      registerType: (type: string) => void registered.push(type),
      createNode: noop,
      getNode: () => null,
      getCredentials: () => undefined,
    },
    httpAdmin: routes,
    httpNode: routes,
    auth: { needsPermission: () => (_req: unknown, _res: unknown, next: () => void) => next() },
    settings: {},
    util: {},
    events: { on: noop, off: noop },
    log: { info: noop, warn: noop, error: noop, debug: noop, trace: noop },
    _: (key: string) => key,
  };
}

function main(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package.json at run time, not compiled in
  const pkg = require(path.join(ROOT, 'package.json')) as Pkg;
  const files = Object.values(pkg['node-red'].nodes).map((file) => path.join(ROOT, file));
  const registered: string[] = [];
  const red = redStub(registered);
  const before = new Set(Object.keys(require.cache));
  const started = performance.now();
  for (const file of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- what is measured: loading each node file at run time
    const register = require(file) as (RED: unknown) => void;
    register(red);
  }
  const ms = performance.now() - started;
  const loaded = Object.keys(require.cache).filter((file) => !before.has(file));
  process.stdout.write(
    JSON.stringify({
      ms,
      files: files.length,
      registered,
      modulesLoaded: loaded.length,
      coreLoaded: loaded.some((file) => file.includes(`${path.sep}core${path.sep}`)),
      dependenciesLoaded: loaded.filter((file) => file.includes(`${path.sep}node_modules${path.sep}`)).length,
    }) + '\n',
  );
}

main();
