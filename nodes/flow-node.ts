// What every Replicate flow node does the same way: find its config node, run one async action
// per message, always call done(), show what is happening on its status, stop everything on
// close and never send after it.
import { setMaxListeners } from 'events';
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import type { z } from 'zod';
import type * as Core from './core';
import { core } from './lazy-core';
import type { ReplicateConfigNode } from './node-types';

/** Status words shared by all nodes live in the config node's catalog. */
const COMMON = '@nr-replicate/node-red-replicate/replicate-config:common';

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type Msg = NodeMessageInFlow & Record<string, unknown>;

export interface FlowNode {
  /** Aborted when the node closes (redeploy, stop). */
  readonly signal: AbortSignal;
  readonly closed: boolean;
  /** Messages currently being handled. */
  readonly active: number;
  /** The selected config node's client; throws a sentence when none is selected or it cannot work. */
  client(): Core.ReplicateClient;
  t(key: string, vars?: Record<string, unknown>): string;
  show(fill: NodeStatus['fill'], key: string, vars?: Record<string, unknown>, shape?: NodeStatus['shape']): void;
  /**
   * A step of the one message in flight ("creating", "fetching"). With several in flight the
   * steps of each would flicker past unread, so the status keeps showing outcomes instead.
   */
  progress(key: string, vars?: Record<string, unknown>): void;
  /** Shows a finished prediction's status in its colour. */
  showPrediction(prediction: Core.Prediction): void;
  /** For CallOptions.onRetry: the status says a retry is coming. */
  retrying: (event: Core.RetryEvent) => void;
  onInput(handler: (msg: Msg, send: Send) => Promise<void>): void;
  onClose(cleanup: () => void): void;
}

const ERROR_STATUS: Record<string, string> = {
  unauthorized: 'tokenRejected',
  billing: 'billingRequired',
  forbidden: 'forbidden',
  'not-found': 'notFound',
  'invalid-input': 'invalidInput',
  'rate-limited': 'rateLimited',
  server: 'serverError',
  timeout: 'timedOut',
  network: 'unreachable',
  'bad-response': 'badResponse',
};

function errorStatusKey(err: Error): string {
  if (err.name === 'InputError') return 'invalidInput';
  if (err.name === 'PollsExhaustedError') return 'stillRunning';
  return ERROR_STATUS[(err as Core.ReplicateError).code] ?? 'error';
}

const PREDICTION_FILL: Record<string, NodeStatus['fill']> = {
  succeeded: 'green',
  failed: 'red',
  canceled: 'grey',
  aborted: 'grey',
};

/**
 * A node's status in the shared catalog's words. Each text is translated once and then filled in
 * here, and a status is sent to the editor only when it changed: at hundreds of messages a
 * second, translating and publishing every status would cost more than the requests. After
 * stop() (the node closed) nothing is shown any more.
 */
export function statusLine(RED: NodeAPI, node: Node) {
  const templates = new Map<string, string>();
  let shown: NodeStatus = {};
  let stopped = false;
  const t = (key: string, vars?: Record<string, unknown>): string => {
    if (!vars) {
      let text = templates.get(key);
      if (text === undefined) templates.set(key, (text = RED._(`${COMMON}.${key}`)));
      return text;
    }
    const names = Object.keys(vars);
    const id = `${key}|${names.join(',')}`;
    let template = templates.get(id);
    if (template === undefined) {
      template = RED._(`${COMMON}.${key}`, Object.fromEntries(names.map((name) => [name, `\u0001${name}\u0001`])));
      templates.set(id, template);
    }
    return names.length === 0 ? template : template.replace(/\u0001(\w+)\u0001/g, (_, name: string) => String(vars[name]));
  };
  return {
    t,
    show(fill: NodeStatus['fill'], key: string, vars?: Record<string, unknown>, shape: NodeStatus['shape'] = 'dot'): void {
      if (stopped) return;
      const text = t(`status.${key}`, vars);
      if (text === shown.text && fill === shown.fill && shape === shown.shape) return;
      shown = { fill, shape, text };
      node.status({ fill, shape, text });
    },
    stop(): void {
      stopped = true;
      node.status({});
    },
  };
}

export function flowNode(RED: NodeAPI, node: Node, configId: unknown): FlowNode {
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per message in flight: hundreds is normal, not a leak
  const cleanups: Array<() => void> = [];
  let closed = false;
  let active = 0;

  const status = statusLine(RED, node);
  const { t, show } = status;

  const config = typeof configId === 'string' && configId ? (RED.nodes.getNode(configId) as ReplicateConfigNode | null) : null;
  if (!config || config.type !== 'replicate-config') show('red', 'noConfig', undefined, 'ring');

  const flow: FlowNode = {
    signal: abort.signal,
    get closed() {
      return closed;
    },
    get active() {
      return active;
    },
    client() {
      if (!config || config.type !== 'replicate-config') {
        throw new (core().InputError)('No Replicate config node is selected: open this node and choose or add one');
      }
      return config.client();
    },
    t,
    show,
    progress(key, vars) {
      if (active <= 1) show('blue', key, vars, 'ring');
    },
    showPrediction(prediction) {
      const fill = PREDICTION_FILL[prediction.status];
      show(fill ?? 'blue', prediction.status, undefined, fill ? 'dot' : 'ring');
    },
    retrying: (event) => show('yellow', 'retrying', { seconds: Math.ceil(event.delayMs / 1000) }, 'ring'),
    onInput(handler) {
      node.on('input', (msg, send, done) => {
        active++;
        const guardedSend: Send = (out) => {
          if (!closed) send(out);
        };
        handler(msg as Msg, guardedSend).then(
          () => {
            active--;
            finish(RED, node, msg as Msg, done);
          },
          (err: Error) => {
            active--;
            // A node closed mid-request stays silent: its flow is being replaced.
            if (closed) return finish(RED, node, msg as Msg, done);
            show('red', errorStatusKey(err), undefined, 'ring');
            finish(RED, node, msg as Msg, done, err);
          },
        );
      });
    },
    onClose(cleanup) {
      cleanups.push(cleanup);
    },
  };

  node.on('close', (done: () => void) => {
    closed = true;
    abort.abort();
    for (const cleanup of cleanups) cleanup();
    status.stop();
    done();
  });

  return flow;
}

/**
 * Calls done(). Node-RED hands a copy of msg to each Catch or Complete node, and a message it
 * cannot copy (nested thousands of levels deep, say) makes done() throw: the error must still
 * reach a Catch node, without the parts that cannot be copied, and nothing may escape as an
 * unhandled rejection, which stops Node-RED.
 */
function finish(RED: NodeAPI, node: Node, msg: Msg, done: (err?: Error) => void, err?: Error): void {
  try {
    done(err);
  } catch {
    if (!err) return; // the message went out; only a Complete node missed its copy
    const copyable: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(msg)) {
      try {
        RED.util.cloneMessage({ value });
        copyable[key] = value;
      } catch {
        // left out: Node-RED cannot copy it
      }
    }
    try {
      node.error(err, copyable);
    } catch {
      node.error(err);
    }
  }
}

/** A node's settings, checked once at deploy: a bad one shows on the status and fails each message. */
export function readSettings<S extends z.ZodType>(flow: FlowNode, node: Node, schema: S, def: unknown): () => z.infer<S> {
  const parsed = schema.safeParse(def);
  if (parsed.success) return () => parsed.data;
  const { InputError, describeIssues } = core();
  const problem = new InputError(`Settings: ${describeIssues(parsed.error)}`);
  node.error(problem.message);
  flow.show('red', 'invalidSettings', undefined, 'ring');
  return () => {
    throw problem;
  };
}

/** Evaluates a TypedInput property (msg, flow, global, env, str...) for this message. */
export function evaluate(RED: NodeAPI, node: Node, value: unknown, type: unknown, msg: Msg): Promise<unknown> {
  if (typeof value !== 'string' || value === '') return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, typeof type === 'string' ? type : 'str', node, msg, (err: Error | null, result: unknown) =>
      err ? reject(err) : resolve(result),
    );
  });
}

/** Puts the prediction in msg.payload exactly as Replicate sent it, with convenience fields beside it. */
export function withPrediction(msg: Msg, prediction: Core.Prediction): Msg {
  msg.payload = prediction;
  msg.predictionId = prediction.id;
  msg.status = prediction.status;
  return msg;
}
