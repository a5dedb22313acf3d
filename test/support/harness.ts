// One emulator and one Node-RED per test file, and the usual flow around the node under test:
// its outputs wired to helper nodes, a Catch node scoped to it, a Complete node to see done().
import { DEFAULT_TOKEN, startEmulator, type Emulator, type EmulatorOptions } from '../../emulator';
import { configNode, helper, messages, nodeModules } from './node-red';

export const UNDER_TEST = 'n';
/** Catch and Complete nodes only see errors within their own flow tab. */
const TAB = 'tab';

export interface Loaded {
  node: any;
  outputs: any[];
  caught: any;
  completed: any;
  /** Sends a message into the node under test. */
  send(msg: Record<string, unknown>): void;
  /** The next message on output `port`. */
  next(port?: number, timeoutMs?: number): Promise<any>;
  /** The next error a Catch node receives from the node under test. */
  error(timeoutMs?: number): Promise<any>;
}

export function nodeRedWithEmulator(options: EmulatorOptions = {}) {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator(options);
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    emulator.clearFaults();
    emulator.clearRequests();
  });
  after(async () => {
    await helper.stopServer();
    await emulator.close();
  });

  return {
    get emulator() {
      return emulator;
    },
    async load(
      node: Record<string, unknown>,
      {
        outputs = 1,
        config = {},
        token = DEFAULT_TOKEN,
        webhookSecret,
        credentials,
        lang,
      }: {
        outputs?: number;
        config?: Record<string, unknown>;
        token?: string;
        /** The config node's signing secret. */
        webhookSecret?: string;
        /** The node under test's own credentials. */
        credentials?: Record<string, string>;
        /** The runtime's language (Node-RED's settings.lang); en-US unless said. */
        lang?: string;
      } = {},
    ): Promise<Loaded> {
      const outIds = Array.from({ length: outputs }, (_, i) => `out${i}`);
      await helper.load(
        nodeModules(undefined, lang),
        [
          { id: TAB, type: 'tab' },
          configNode('cfg', emulator.url, config),
          ...[
            { id: UNDER_TEST, replicate: 'cfg', ...node, wires: outIds.map((id) => [id]) },
            ...outIds.map((id) => ({ id, type: 'helper' })),
            { id: 'catch', type: 'catch', scope: [UNDER_TEST], uncaught: false, wires: [['caught']] },
            { id: 'caught', type: 'helper' },
            { id: 'complete', type: 'complete', scope: [UNDER_TEST], uncaught: false, wires: [['completed']] },
            { id: 'completed', type: 'helper' },
          ].map((n) => ({ z: TAB, x: 100, y: 100, ...n })), // x/y: without them a node counts as a config node
        ],
        { cfg: { token, ...(webhookSecret ? { webhookSecret } : {}) }, ...(credentials ? { [UNDER_TEST]: credentials } : {}) },
      );
      const loaded: Loaded = {
        node: helper.getNode(UNDER_TEST),
        outputs: outIds.map((id) => helper.getNode(id)),
        caught: helper.getNode('caught'),
        completed: helper.getNode('completed'),
        send: (msg) => loaded.node.receive(msg),
        next: async (port = 0, timeoutMs) => (await messages(loaded.outputs[port], 1, timeoutMs))[0],
        error: async (timeoutMs) => (await messages(loaded.caught, 1, timeoutMs))[0],
      };
      return loaded;
    },
  };
}
