// A real Node-RED with this package, for the tests and the benchmarks: a user dir in a temporary
// directory, settings for a quiet Node-RED on a free loopback port (no telemetry, no update check,
// no tours, credentials in plain JSON), our nodes from the package root, and the caller's flows,
// credentials and extra settings. Either as a child process, red.js itself (the admin API's real
// auth, the real middleware order), or in this process (RED.init + RED.start), for a browser test
// or a benchmark that reaches into the runtime. stop() always cleans up: the process or server,
// and the user dir. Imported by bench/ too, so it must not load the test helper.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { closableServer } from '../../emulator/server';

/** The package root: its nodes are loaded from here, as `npm start` loads them. */
export const PACKAGE_ROOT = path.join(__dirname, '..', '..', '..');

// NODE_RED_PATH (a node-red package directory or its red.js) picks the Node-RED to run on, as
// `npm run test:compat` does; without it, the one in the dev dependencies.
export const NODE_RED_MAIN = process.env.NODE_RED_PATH
  ? require.resolve(path.resolve(process.env.NODE_RED_PATH))
  : require.resolve('node-red');
/** Resolves a module (e.g. `@node-red/nodes/core/...`) as the Node-RED the tests run on sees it. */
export const resolveNodeRed = (request: string): string => require.resolve(request, { paths: [path.dirname(NODE_RED_MAIN)] });

/** The dashboard package directory: loaded from here on any Node-RED, also one outside this package's node_modules. */
const dashboardDir = (): string => path.dirname(require.resolve('@flowfuse/node-red-dashboard/package.json', { paths: [PACKAGE_ROOT] }));

const START_TIMEOUT_MS = 45_000;
const STOP_TIMEOUT_MS = 10_000;

export interface NodeRedOptions {
  flows?: object[];
  /** By node id; credentialSecret is off, so they are stored as given. */
  credentials?: Record<string, object>;
  /** Merged over the defaults, e.g. httpNodeRoot, httpNodeAuth, adminAuth, logging. */
  settings?: Record<string, unknown>;
  /** Node files (file name to source) for <userDir>/nodes, where Node-RED finds nodes of its own. */
  nodeFiles?: Record<string, string>;
  /** FlowFuse Dashboard 2.0 (a dev dependency) installed; without it, Node-RED runs as for a user who has not installed it. */
  dashboard?: boolean;
  /** A user dir the caller owns (kept after stop, e.g. to start again on its context files); else a temporary one. */
  userDir?: string;
}

export interface NodeRedProcess {
  /** http://127.0.0.1:port */
  url: string;
  /** Everything the process printed so far. */
  output(): string;
  stop(): Promise<void>;
  /** kill -9: no close handler runs, nothing is flushed; the user dir stays. */
  kill(): Promise<void>;
}

export interface NodeRedInProcess {
  /** http://127.0.0.1:port */
  url: string;
  /** The runtime's RED object (require('node-red')): cast to the parts a caller reaches into. */
  red: unknown;
  stop(): Promise<void>;
}

/** A user dir with the flows, credentials and node files, and the settings for it. */
function prepareUserDir(
  options: NodeRedOptions,
  defaults: Record<string, unknown>,
): { userDir: string; settings: Record<string, unknown> } {
  const userDir = options.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nr-replicate-host-'));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(options.flows ?? []));
  fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(options.credentials ?? {}));
  if (options.nodeFiles) {
    fs.mkdirSync(path.join(userDir, 'nodes'));
    for (const [name, source] of Object.entries(options.nodeFiles)) fs.writeFileSync(path.join(userDir, 'nodes', name), source);
  }
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: 0,
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    nodesDir: options.dashboard ? [PACKAGE_ROOT, dashboardDir()] : [PACKAGE_ROOT],
    // Node-RED also loads the node packages it finds beside itself in node_modules, where the dashboard is
    ...(options.dashboard ? {} : { nodesExcludes: ['node-red-dashboard'] }),
    telemetry: { enabled: false, updateNotification: false },
    editorTheme: { tours: false },
    ...defaults,
    ...options.settings,
  };
  return { userDir, settings };
}

const once = <T>(fn: () => Promise<T>): (() => Promise<T>) => {
  let running: Promise<T> | undefined;
  return () => (running ??= fn());
};

/**
 * Node-RED as a child process, resolved once it listens and its flows have started. `settingsSource`
 * is JavaScript for an object literal merged last, for what JSON cannot hold (adminAuth functions).
 */
export async function startNodeRedProcess(options: NodeRedOptions & { settingsSource?: string } = {}): Promise<NodeRedProcess> {
  // info: the process's own log says when it is up, and shows what debug nodes print to the console.
  const { userDir, settings } = prepareUserDir(options, { logging: { console: { level: 'info' } } });
  const settingsFile = path.join(userDir, 'settings.js');
  fs.writeFileSync(settingsFile, `module.exports = Object.assign(${JSON.stringify(settings)}, ${options.settingsSource ?? '{}'});\n`);
  const child = spawn(process.execPath, [resolveNodeRed('node-red/red.js'), '--settings', settingsFile, '--userDir', userDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.on('error', (err) => (output += `${err.stack}\n`));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = once(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(kill);
    }
    if (!options.userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Node-RED did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`)),
        START_TIMEOUT_MS,
      );
      const look = (chunk: Buffer) => {
        output += chunk.toString();
        // Node-RED logs in its language: English, or German for settings.lang 'de'
        const origin = /(?:Server now running at|Server wird jetzt auf) (http:\/\/[^/\s]+)/.exec(output)?.[1];
        if (origin && /Started flows|Flows sind gestartet/.test(output)) {
          clearTimeout(timer);
          resolve(origin);
        }
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`Node-RED exited:\n${output}`));
      });
    });
    return { url, output: () => output, stop, kill };
  } catch (err) {
    await stop();
    throw err;
  }
}

let inProcess = false;

/** What the host uses of require('node-red'). */
interface NodeRedMain {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: http.RequestListener;
  httpNode: http.RequestListener;
  events: { once(event: string, fn: () => void): void; off(event: string, fn: () => void): void };
}

/** What the host uses of an express app. */
interface ExpressApp extends http.RequestListener {
  use(path: string, handler: http.RequestListener): void;
}

/**
 * Node-RED in this process (one at a time: the runtime is a singleton), its admin and node
 * routes at httpAdminRoot and httpNodeRoot (false: not served), resolved once its flows have started.
 */
export async function startNodeRedInProcess(options: NodeRedOptions = {}): Promise<NodeRedInProcess> {
  if (inProcess) throw new Error('Node-RED already runs in this process: stop it first');
  // warn: quiet, but what goes wrong is shown.
  const { userDir, settings } = prepareUserDir(options, { logging: { console: { level: 'warn' } } });
  inProcess = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the Node-RED to run on is chosen at run time (NODE_RED_PATH)
  const red = require(NODE_RED_MAIN) as NodeRedMain;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the express that Node-RED itself resolves, found at run time
  const app = (require(resolveNodeRed('express')) as () => ExpressApp)();
  let served: Served | undefined;
  let started = false;
  const stop = once(async () => {
    try {
      if (started) await red.stop();
    } finally {
      await served?.close();
      if (!options.userDir) fs.rmSync(userDir, { recursive: true, force: true });
      inProcess = false;
    }
  });
  try {
    served = await serve(app);
    red.init(served.server, settings);
    // Mounted as red.js mounts them: the admin routes first.
    if (settings.httpAdminRoot !== false) app.use((settings.httpAdminRoot as string | undefined) ?? '/', red.httpAdmin);
    if (settings.httpNodeRoot !== false) app.use((settings.httpNodeRoot as string | undefined) ?? '/', red.httpNode);
    // RED.start resolves before the flows have started; they start a moment later.
    let onStarted = (): void => undefined;
    let timer: NodeJS.Timeout | undefined;
    const flowsStarted = new Promise<void>((resolve, reject) => {
      onStarted = resolve;
      red.events.once('flows:started', onStarted);
      timer = setTimeout(() => reject(new Error(`Node-RED's flows did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    });
    try {
      started = true; // from here on, stop() stops the runtime too
      await red.start();
      await flowsStarted;
    } finally {
      clearTimeout(timer);
      red.events.off('flows:started', onStarted);
    }
    return { url: served.url, red, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

export interface Served {
  /** http://127.0.0.1:port */
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/** A request handler on a free loopback port; close() ends open connections too. */
export async function serve(handler: http.RequestListener): Promise<Served> {
  const closable = closableServer(handler);
  const port = await closable.listen(0, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, server: closable.server, close: once(() => closable.close()) };
}
