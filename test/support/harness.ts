// One emulator and one Node-RED per test file, and the usual flow around the node under test:
// its outputs wired to helper nodes, a Catch node scoped to it, a Complete node to see done().
import type { Node } from 'node-red';
import { DEFAULT_TOKEN, startEmulator, type Emulator, type EmulatorOptions } from '../../emulator';
import type { Model, Prediction } from '../../nodes/core';
import { configNode, helper, message, nodeModules } from './node-red';

export const UNDER_TEST = 'n';
/** Catch and Complete nodes only see errors within their own flow tab. */
const TAB = 'tab';

/** A message a node sent: any field may be there (tests name the type of what they expect). */
export type Msg = Record<string, unknown>;

/** What the prediction nodes send: the prediction in msg.payload, convenience fields beside it. */
export interface PredictionMsg extends Msg {
  payload: Prediction;
  predictionId: string;
  status: string;
}

/** What the list node sends: a page of models (or all of them), the cursor of the next. */
export interface ModelsMsg extends Msg {
  payload: Model[];
  next: string | null;
  pages: number;
}

/** What a Catch node receives: the message that failed, with the error beside it. */
export interface CaughtMsg extends Msg {
  error: { message: string; code?: string; source?: { id: string; type: string } };
}

export interface Loaded<N extends Node = Node> {
  node: N;
  /** The helper nodes wired to each output port, port 0 first. */
  outputs: [Node, ...Node[]];
  caught: Node;
  completed: Node;
  /** Sends a message into the node under test. */
  send(msg: Msg): void;
  /** The next message on output `port` (of the type the node under test sends there). */
  next<T extends Msg = PredictionMsg>(port?: number, timeoutMs?: number): Promise<T>;
  /** The next error a Catch node receives from the node under test. */
  error(timeoutMs?: number): Promise<CaughtMsg>;
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
    /** Loads the node under test (N: its own interface, for tests that reach into it). */
    async load<N extends Node = Node>(
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
    ): Promise<Loaded<N>> {
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
      const loaded: Loaded<N> = {
        node: helper.getNode(UNDER_TEST) as N,
        outputs: outIds.map((id) => helper.getNode(id)) as [Node, ...Node[]],
        caught: helper.getNode('caught'),
        completed: helper.getNode('completed'),
        send: (msg) => loaded.node.receive(msg),
        next: <T extends Msg>(port = 0, timeoutMs?: number) => message<T>(loaded.outputs[port]!, timeoutMs),
        error: (timeoutMs) => message<CaughtMsg>(loaded.caught, timeoutMs),
      };
      return loaded;
    },
  };
}
