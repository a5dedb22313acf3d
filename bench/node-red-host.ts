// The real Node-RED runtime, embedded in the benchmark process (the shared in-process host of
// test/support/node-red-host: no editor, no admin API, only the runtime and httpNode at /), with
// this package loaded the way `npm start` loads it (nodesDir = the package root) and every core
// node. Flows are deployed through the runtime API; a tiny `bench-sink` node type hands the
// messages that reach it to the benchmark without Node-RED doing anything else with them.
import { PACKAGE_ROOT, startNodeRedInProcess, type NodeRedInProcess } from '../test/support/node-red-host';

export const ROOT = PACKAGE_ROOT;

export type FlowNode = Record<string, unknown> & { id: string; type: string };
export type SinkHandler = (msg: Record<string, unknown>) => void;

const SINK_HOOK = '__nrReplicateBenchSink';

const SINK_JS = `module.exports = function (RED) {
  function BenchSink(config) {
    RED.nodes.createNode(this, config);
    const name = config.name;
    this.on('input', function (msg, send, done) {
      const hook = globalThis.${SINK_HOOK};
      if (hook) hook(name, msg);
      done();
    });
  }
  RED.nodes.registerType('bench-sink', BenchSink);
};
`;

const SINK_HTML = `<script type="text/javascript">
  RED.nodes.registerType('bench-sink', { category: 'function', defaults: { name: { value: '' } }, inputs: 1, outputs: 0, label: 'bench sink' });
</script>
`;

interface RedRuntime {
  nodes: { getNode(id: string): NodeLike | null };
  events: { once(event: string, fn: () => void): void; off(event: string, fn: () => void): void };
  runtime: {
    flows: {
      setFlows(opts: {
        flows: { flows: FlowNode[]; credentials?: Record<string, Record<string, string>> };
        deploymentType?: string;
      }): Promise<unknown>;
    };
  };
  version: string;
}

export interface NodeLike {
  id: string;
  type: string;
  receive(msg?: Record<string, unknown>): void;
}

export class NodeRedHost {
  /** Objects the function nodes reach with global.get('bench'). */
  readonly globals: Record<string, unknown> = {};
  private readonly sinks = new Map<string, SinkHandler>();
  private host: NodeRedInProcess | undefined;
  private hooks = 0;
  url = '';

  get version(): string {
    return this.host ? (this.host.red as RedRuntime).version : '?';
  }

  async start(): Promise<void> {
    (globalThis as Record<string, unknown>)[SINK_HOOK] = (name: string, msg: Record<string, unknown>) => this.sinks.get(name)?.(msg);
    this.host = await startNodeRedInProcess({
      nodeFiles: { 'bench-sink.js': SINK_JS, 'bench-sink.html': SINK_HTML },
      settings: {
        httpAdminRoot: false, // no editor and no admin API: only the runtime and httpNode
        httpNodeRoot: '/',
        functionGlobalContext: { bench: this.globals },
        logging: { console: { level: process.env.BENCH_NODE_RED_LOG ?? 'error', metrics: false, audit: false } },
        externalModules: { autoInstall: false, palette: { allowInstall: false } },
      },
    });
    this.url = this.host.url;
  }

  /** Replaces every flow (a full deploy), credentials by node id; resolves once the new flows have started. */
  async deploy(flows: FlowNode[], credentials: Record<string, Record<string, string>> = {}): Promise<void> {
    const red = this.runtime();
    // setFlows resolves when the flows are saved; they start a moment later.
    let timer: NodeJS.Timeout | undefined;
    let onStarted: (() => void) | undefined;
    const started = new Promise<void>((resolve, reject) => {
      onStarted = () => resolve();
      red.events.once('flows:started', onStarted);
      timer = setTimeout(() => reject(new Error('The flows did not start within 30 s')), 30_000);
    });
    try {
      await red.runtime.flows.setFlows({ flows: { flows, credentials }, deploymentType: 'full' });
      await started;
    } finally {
      clearTimeout(timer);
      if (onStarted) red.events.off('flows:started', onStarted);
    }
  }

  /** Stops and removes every flow (each node's close runs). */
  async clear(): Promise<void> {
    this.sinks.clear();
    await this.deploy([]);
  }

  node(id: string): NodeLike {
    const node = this.runtime().nodes.getNode(id);
    if (!node) throw new Error(`No deployed node ${id}`);
    return node;
  }

  /** Adds a runtime message hook (`onSend`: every message as a node sends it); the returned function removes it. */
  addHook(
    event: 'onSend',
    fn: (events: Array<{ msg: Record<string, unknown>; source: { id: string; port: number } }>) => void,
  ): () => void {
    const hooks = (this.runtime() as unknown as { hooks: { add(name: string, fn: unknown): void; remove(name: string): void } }).hooks;
    const name = `${event}.bench${++this.hooks}`;
    hooks.add(name, fn);
    return () => hooks.remove(name);
  }

  /** What reaches the bench-sink node named `name` goes to `handler`. */
  onSink(name: string, handler: SinkHandler): void {
    this.sinks.set(name, handler);
  }

  async stop(): Promise<void> {
    try {
      if (this.host) {
        await this.clear().catch(() => undefined);
        await this.host.stop();
      }
    } finally {
      this.host = undefined;
      delete (globalThis as Record<string, unknown>)[SINK_HOOK];
    }
  }

  private runtime(): RedRuntime {
    if (!this.host) throw new Error('Node-RED is not running');
    return this.host.red as RedRuntime;
  }
}

/** A flow tab and nodes placed on it (x/y make them flow nodes, not config nodes). */
export function onTab(tab: string, nodes: Array<Record<string, unknown> & { id: string; type: string }>): FlowNode[] {
  return [{ id: tab, type: 'tab', label: tab }, ...nodes.map((node, i) => ({ z: tab, x: 100 + 150 * i, y: 100, wires: [], ...node }))];
}

/** The config node every benchmark uses: client-side rate limits off, 50 requests in flight. */
export function benchConfig(id: string, baseUrl: string, extra: Record<string, unknown> = {}): FlowNode {
  return {
    id,
    type: 'replicate-config',
    name: 'bench',
    baseUrl,
    webhookBaseUrl: '',
    timeout: 30,
    concurrency: 50,
    createRateLimit: 0,
    requestRateLimit: 0,
    maxRetries: 5,
    ...extra,
  };
}

export const BENCH_CONFIG_NOTE =
  'config node: concurrency 50, createRateLimit 0 and requestRateLimit 0 (client-side rate limiting off for the bench), maxRetries 5';
