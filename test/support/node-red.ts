// Node-RED in the test process: node-red-node-test-helper, our node modules, and a few ways
// to watch what the nodes do (messages, statuses, logs).
import fs from 'fs';
import type http from 'http';
import type { Node, NodeAPI } from 'node-red';
import path from 'path';
import supertest from 'supertest';
import helper from 'node-red-node-test-helper';
import type { Msg } from './harness';
import { DEFAULT_TOKEN } from '../../emulator';
import { NODE_RED_MAIN, resolveNodeRed, serve, type Served } from './node-red-host';

helper.init(NODE_RED_MAIN);

export { helper };
export { resolveNodeRed } from './node-red-host';

const BUILT_NODES = path.join(__dirname, '..', '..', 'nodes');
export const NODE_FILES = fs
  .readdirSync(BUILT_NODES)
  .filter((file) => file.startsWith('replicate-') && file.endsWith('.js'))
  .map((file) => file.replace(/\.js$/, ''));

type Catalog = Record<string, unknown>;

/**
 * The helper's RED._ returns the key; ours reads the real catalogs of a language (en-US unless
 * said otherwise), English where it has no text, as Node-RED does, so tests see real words.
 */
function translator(lang: string): (key: string, vars?: Record<string, string | number>) => string {
  const catalogsOf = (language: string): Catalog => {
    const catalogs: Catalog = {};
    const dir = path.join(BUILT_NODES, 'locales', language);
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      Object.assign(catalogs, JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    }
    return catalogs;
  };
  const languages = [...new Set([lang, 'en-US'])].map(catalogsOf);
  return (key, vars = {}) => {
    const local = key.slice(key.lastIndexOf(':') + 1); // drop a catalog namespace prefix
    for (const catalogs of languages) {
      const found = local.split('.').reduce<unknown>((node, part) => (node as Catalog | undefined)?.[part], catalogs);
      if (typeof found === 'string') return found.replace(/__(\w+)__/g, (_, name: string) => String(vars[name] ?? ''));
    }
    return key;
  };
}

let red: NodeAPI | undefined;

/** Our node files, as the helper loads them, with real translations (in `lang`, as Node-RED's settings.lang picks it) and a handle on RED. */
export function nodeModules(names: string[] = NODE_FILES, lang = 'en-US'): Array<(RED: NodeAPI) => void> {
  const t = translator(lang);
  return names.map((name) => (RED: NodeAPI) => {
    RED._ = t;
    red = RED;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the built node file, found at run time, as Node-RED loads it
    const register = require(path.join(BUILT_NODES, `${name}.js`)) as (RED: NodeAPI) => void;
    register(RED);
  });
}

/** Requests to routes on RED.httpNode (helper.request() only reaches httpAdmin). */
export function httpNode(): supertest.Agent {
  if (!red) throw new Error('load a flow first');
  return supertest.agent(red.httpNode as never);
}

/** RED.httpNode on a real port, for senders that need a URL (the emulator's webhooks); follows each load. */
export function serveHttpNode(): Promise<Served> {
  return serve((req, res) => {
    if (!red) return res.writeHead(503).end();
    (red.httpNode as (req: http.IncomingMessage, res: http.ServerResponse) => void)(req, res);
  });
}

export function configNode(id: string, baseUrl: string, extra: Record<string, unknown> = {}) {
  return { id, type: 'replicate-config', name: `config ${id}`, baseUrl, ...extra };
}

/**
 * A create node `create` whose webhook goes to the prediction completed node `completed` (its `trigger`), both on account
 * `cfg` (`config`: its settings beside the emulator at `baseUrl`): the create node's messages go to helper `created`, the
 * prediction completed node's to helper `done`.
 */
export function createToCompletedFlow(
  baseUrl: string,
  settings: { config?: Record<string, unknown>; create?: Record<string, unknown>; completed?: Record<string, unknown> },
): Array<Record<string, unknown>> {
  return [
    { id: 'tab', type: 'tab' },
    configNode('cfg', baseUrl, settings.config),
    {
      id: 'create',
      z: 'tab',
      x: 0,
      y: 0,
      type: 'replicate-create-prediction',
      replicate: 'cfg',
      trigger: 'completed',
      ...settings.create,
      wires: [['created']],
    },
    { id: 'created', z: 'tab', x: 0, y: 0, type: 'helper' },
    {
      id: 'completed',
      z: 'tab',
      x: 0,
      y: 0,
      type: 'replicate-prediction-completed',
      replicate: 'cfg',
      ...settings.completed,
      wires: [['done']],
    },
    { id: 'done', z: 'tab', x: 0, y: 0, type: 'helper' },
  ];
}

/**
 * A create node `n` in stream mode (`props`: its model and more) on account `cfg` of the emulator at `baseUrl`: output 1
 * through Node-RED's own join node in automatic mode to helper `whole`, output 2 to helper `final`.
 */
export async function loadStreamIntoJoin(baseUrl: string, props: Record<string, unknown>): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED's own join node, from the Node-RED under test
  const sequence = require(resolveNodeRed('@node-red/nodes/core/sequence/17-split.js')) as (RED: NodeAPI) => void;
  await helper.load(
    [sequence, ...nodeModules()],
    [
      { id: 'tab', type: 'tab' },
      configNode('cfg', baseUrl),
      {
        id: 'n',
        z: 'tab',
        x: 100,
        y: 100,
        type: 'replicate-create-prediction',
        replicate: 'cfg',
        wait: 'stream',
        ...props,
        wires: [['join'], ['final']],
      },
      { id: 'join', z: 'tab', x: 300, y: 100, type: 'join', mode: 'auto', wires: [['whole']] },
      { id: 'whole', z: 'tab', x: 500, y: 100, type: 'helper' },
      { id: 'final', z: 'tab', x: 300, y: 200, type: 'helper' },
    ],
    { cfg: { token: DEFAULT_TOKEN } },
  );
}

/** The next `count` messages arriving at a helper node (T: what the test expects there), or a timeout naming how many came. */
export function messages<T extends Msg = Msg>(node: Node, count = 1, timeoutMs = 10_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got = received<T>(node);
    const timer = setTimeout(() => reject(new Error(`expected ${count} message(s), got ${got.length}`)), timeoutMs);
    node.on('input', () => {
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** The first arguments of a node's calls to a spied method, oldest first. */
function callsBy(node: Node, method: 'status' | 'error' | 'warn'): unknown[] {
  return (helper._NodePrototype[method]?.getCalls() ?? []).filter((call) => call.thisValue === node).map((call) => call.args[0]);
}

/** Every message arriving at a helper node from now on, as they come (T: what the test expects there). */
export function received<T extends Msg = Msg>(node: Node): T[] {
  const got: T[] = [];
  node.on('input', (msg) => got.push(msg as unknown as T));
  return got;
}

/** The next message arriving at a helper node (T: what the test expects there). */
export async function message<T extends Msg = Msg>(node: Node, timeoutMs?: number): Promise<T> {
  return (await messages<T>(node, 1, timeoutMs))[0]!;
}

/** Every status set and every log line since the flow loaded, as text, to search for secrets. */
export function everythingShown(): string {
  const { status, error, warn } = helper._NodePrototype;
  return JSON.stringify([status?.args ?? [], error?.args ?? [], warn?.args ?? [], helper.log().args], (_key, value: unknown) =>
    value instanceof Error ? { message: value.message, stack: value.stack } : value,
  );
}

/** Statuses a node has shown, oldest first. */
export function statusesOf(node: Node): Array<{ fill?: string; shape?: string; text?: string }> {
  return callsBy(node, 'status') as Array<{ fill?: string; shape?: string; text?: string }>;
}

/** What a node has logged with node.warn or node.error, as text, oldest first. */
export function loggedBy(node: Node, level: 'warn' | 'error'): string[] {
  return callsBy(node, level).map((logged) => String(logged));
}
