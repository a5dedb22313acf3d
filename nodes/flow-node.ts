// What every Replicate flow node does the same way: find its config node, run one async action
// per message, always call done(), show what is happening on its status, stop everything on
// close and never send after it.
import { setMaxListeners } from 'events';
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import type { z } from 'zod';
import type * as Core from './core';
import { core } from './lazy-core';
import { configNodeOf } from './account-client';
import { nodeWaits, type CarriedWait } from './wait-handover';

/** Status words and runtime sentences shared by all nodes live in the config node's catalog. */
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
  /** The selected config node's downloads of output files; throws like client(). */
  files(): Core.FileFetcher;
  /** Where the selected config node's streams may be read from, and how much one may send; throws like client(). */
  streamLimits(): Core.StreamLimits;
  /** Bytes up to which the config node sends a file in a model input inline. */
  inlineFileLimit(): number;
  t(key: string, vars?: Record<string, unknown>): string;
  /** A sentence or an error in the runtime's language (see say). */
  say(what: Core.Sentence | Error): string;
  show(fill: NodeStatus['fill'], key: string, vars?: Record<string, unknown>, shape?: NodeStatus['shape']): void;
  /**
   * A step of the one message in flight ("creating", "fetching"). With several in flight the
   * steps of each would flicker past unread, so the status keeps showing outcomes instead.
   */
  progress(key: string, vars?: Record<string, unknown>): void;
  /** Shows a finished prediction's status in its colour. */
  showPrediction(prediction: Core.Prediction): void;
  /** A poll of the one message in flight: the progress its logs report (`processing 45%`), else its status and the time since `since` (Date.now()). */
  polled(prediction: Core.Prediction, since: number): void;
  /** Takes away a status shown before, when what it reported has been fixed. */
  clear(): void;
  /** For CallOptions.onRetry: the status says a retry is coming. */
  retrying: (event: Core.RetryEvent) => void;
  onInput(handler: (msg: Msg, send: Send) => Promise<void>): void;
  onClose(cleanup: () => void): void;
  /**
   * Marks a prediction as waited on for msg until the returned release is called (saved for a restart
   * when the account keeps waits). Closing the node hands the wait to the node that replaces it in a
   * redeploy; a node deleted, or replaced on another account, warns that the prediction keeps running.
   * `carried`: a wait this node took over (onResume), or a stream's closing part.
   */
  waitingFor(predictionId: string, msg: Msg, carried?: Partial<CarriedWait>): () => void;
  /** Marks a training as waited on until the returned release: not handed over, closing warns that it keeps running. */
  waitingForTraining(trainingId: string): () => void;
  /**
   * The node finishes the waits of the node it replaced, and after a restart those saved before it:
   * `handler` polls the prediction and sends its result (with the wait's msg); a failure reaches Catch nodes.
   */
  onResume(handler: (wait: CarriedWait, send: Send) => Promise<void>): void;
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
  'data-removed': 'dataRemoved',
  'no-config': 'noConfig',
  'no-token': 'noToken',
  'bad-base-url': 'badBaseUrl',
  'bad-config': 'badConfig',
};

function errorStatusKey(err: Error): string {
  if (err.name === 'PollsExhaustedError') return 'stillRunning';
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && Object.hasOwn(ERROR_STATUS, code)) return ERROR_STATUS[code]!;
  return err.name === 'InputError' ? 'invalidInput' : 'error';
}

const PREDICTION_FILL: Record<string, NodeStatus['fill']> = {
  succeeded: 'green',
  failed: 'red',
  canceled: 'grey',
  aborted: 'grey',
};

/**
 * A sentence (an error from the core, a warning, a webhook answer) in the runtime's language, as
 * Node-RED's i18n picks it (settings.lang, else the system's), falling back to English. The core
 * fills in the values, not i18next, so a value that looks like a placeholder stays as it is. An
 * error that is no sentence (a raw Node.js error) says its own message.
 */
export function say(RED: NodeAPI, what: Core.Sentence | Error): string {
  const { isSentence, renderSentence, SentenceError } = core();
  if (what instanceof Error ? !(what instanceof SentenceError) : !isSentence(what)) return (what as Error).message;
  return renderSentence(what as Core.Sentence, (key, names) => {
    const local = `common.sentences.${key}`;
    const text = RED._(`${COMMON}.sentences.${key}`, Object.fromEntries(names.map((name) => [name, `\uE000${name}\uE000`])));
    if (text === local || text.endsWith(`:${local}`)) return undefined; // no catalog (a bare test helper): the English text
    return text.replace(/\uE000(\w+)\uE000/g, '__$1__');
  });
}

/**
 * The error as the flow sees it (done, Catch nodes, the debug sidebar): its sentence in the
 * runtime's language, with every field of the original (code, status, retryable...) kept.
 */
export function localized(RED: NodeAPI, err: Error): Error {
  if (!(err instanceof Error)) return err; // whatever was thrown, as it was
  const message = say(RED, err);
  if (message === err.message) return err;
  const copy = Object.create(Object.getPrototypeOf(err) as object, Object.getOwnPropertyDescriptors(err)) as Error;
  Object.defineProperty(copy, 'message', { value: message, writable: true, configurable: true, enumerable: false });
  return copy;
}

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
      template = RED._(`${COMMON}.${key}`, Object.fromEntries(names.map((name) => [name, `\uE000${name}\uE000`])));
      templates.set(id, template);
    }
    return names.length === 0 ? template : template.replace(/\uE000(\w+)\uE000/g, (_, name: string) => String(vars[name]));
  };
  return {
    t,
    show: (fill: NodeStatus['fill'], key: string, vars?: Record<string, unknown>, shape: NodeStatus['shape'] = 'dot'): void => {
      if (stopped) return;
      const text = t(`status.${key}`, vars);
      if (text === shown.text && fill === shown.fill && shape === shown.shape) return;
      shown = { fill, shape, text };
      node.status({ fill, shape, text });
    },
    clear: (): void => {
      if (stopped || shown.text === undefined) return;
      shown = {};
      node.status({});
    },
    stop: (): void => {
      stopped = true;
      node.status({});
    },
  };
}

/** metrics.predict_time as the status shows it: "3.2", "1234"; undefined when Replicate gave none. */
function predictSeconds(prediction: Core.Prediction): string | undefined {
  const time = prediction.metrics?.predict_time;
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) return undefined;
  return time < 1000 ? time.toFixed(1) : String(Math.round(time));
}

/** A wait so far, short enough for a status: "12s", "4m 05s", "1h 02m". */
function elapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${pad(Math.floor(seconds / 60) % 60)}m`;
}

export function flowNode(RED: NodeAPI, node: Node, configId: unknown): FlowNode {
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per message in flight: hundreds is normal, not a leak
  const cleanups: Array<() => void> = [];
  /** The trainings waited on (a training's wait is not handed over: the warning on close names it). */
  const trainingsWaitedOn = new Map<symbol, string>();
  let closed = false;
  let active = 0;

  const status = statusLine(RED, node);
  const { t, show } = status;

  const config = configNodeOf(RED, configId);
  if (!config) show('red', 'noConfig', undefined, 'ring');
  else {
    // A config node that cannot work (no token, a bad base URL) shows at deploy, not at the first message.
    try {
      config.client();
    } catch (err) {
      show('red', errorStatusKey(err as Error), undefined, 'ring');
    }
  }

  const waits = nodeWaits(RED, node, config, (what) => say(RED, what));
  const sendUnlessClosed: Send = (out) => {
    if (!closed) node.send(out);
  };

  const account = () => {
    if (!config) throw new (core().InputError)('node.noConfig', undefined, 'no-config');
    return config;
  };

  const flow: FlowNode = {
    signal: abort.signal,
    get closed() {
      return closed;
    },
    get active() {
      return active;
    },
    client: () => account().client(),
    files: () => account().files(),
    streamLimits: () => account().streamLimits(),
    inlineFileLimit: () => config?.inlineFileLimit ?? 0,
    t,
    say: (what) => say(RED, what),
    show,
    clear: status.clear,
    progress(key, vars) {
      if (active <= 1) show('blue', key, vars, 'ring');
    },
    showPrediction(prediction) {
      const fill = PREDICTION_FILL[prediction.status];
      const time = prediction.status === 'succeeded' ? predictSeconds(prediction) : undefined;
      // the model's own time, as Replicate measured it (not the polls' or the queue's)
      if (time !== undefined) show('green', 'succeededIn', { time });
      else show(fill ?? 'blue', prediction.status, undefined, fill ? 'dot' : 'ring');
    },
    polled(prediction, since) {
      const percent = prediction.status === 'processing' ? core().logProgress(prediction.logs) : undefined;
      if (percent === undefined) flow.progress('elapsed', { status: prediction.status, elapsed: elapsed(Date.now() - since) });
      else flow.progress('progress', { status: prediction.status, percent });
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
            finish(RED, node, msg, done);
          },
          (err: Error) => {
            active--;
            // A node closed mid-request stays silent: its flow is being replaced.
            if (closed) return finish(RED, node, msg, done);
            show('red', errorStatusKey(err), undefined, 'ring');
            finish(RED, node, msg, done, localized(RED, err));
          },
        );
      });
    },
    onClose(cleanup) {
      cleanups.push(cleanup);
    },
    waitingFor: (predictionId, msg, carried) => waits.track(predictionId, msg, carried),
    waitingForTraining(trainingId) {
      const key = Symbol(trainingId);
      trainingsWaitedOn.set(key, trainingId);
      return () => trainingsWaitedOn.delete(key);
    },
    onResume(handler) {
      waits.resume((wait) => {
        active++;
        const release = waits.track(wait.predictionId, wait.msg, wait);
        // No done() here: the original message's done came when the node that took it in closed.
        handler(wait, sendUnlessClosed)
          .catch((err: Error) => {
            if (closed) return;
            show('red', errorStatusKey(err), undefined, 'ring');
            node.error(localized(RED, err), wait.msg);
          })
          .finally(() => {
            active--;
            release();
          });
      });
    },
  };

  node.on('close', (removed: boolean, done: () => void) => {
    closed = true;
    // before the abort: the waits the abort ends here go on in the successor
    waits.close(removed);
    for (const id of new Set(trainingsWaitedOn.values())) node.warn(say(RED, { key: 'node.trainingKeepsRunning', vars: { id } }));
    trainingsWaitedOn.clear();
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
  const problem = new InputError('node.invalidSettings', { problems: describeIssues(parsed.error) });
  node.error(flow.say(problem));
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

/**
 * Puts the prediction in msg.payload exactly as Replicate sent it, with convenience fields beside
 * it; only the password of its webhook URL (httpNodeAuth) is masked, in a copy.
 */
export function withPrediction(msg: Msg, prediction: Core.Prediction): Msg {
  const { webhook } = prediction as { webhook?: unknown };
  const masked = typeof webhook === 'string' ? core().maskPassword(webhook) : webhook;
  msg.payload = masked === webhook ? prediction : { ...prediction, webhook: masked };
  msg.predictionId = prediction.id;
  msg.status = prediction.status;
  // Replicate's metrics as it sent them; an earlier prediction's (a message through two nodes) would mislead
  if (prediction.metrics !== undefined && prediction.metrics !== null) msg.metrics = prediction.metrics;
  else delete msg.metrics;
  return msg;
}

/**
 * withPrediction, and for a finished prediction whose output is text, msg.text with the whole
 * text (a string, or a language model's tokens joined); msg.payload stays as Replicate sent it.
 * A list of strings needs its model's schema: the cached lookup, one request per model at most.
 */
export async function withFinishedPrediction(
  msg: Msg,
  prediction: Core.Prediction,
  client: Core.ReplicateClient | undefined,
  options: { signal?: AbortSignal; target?: Core.PredictionTarget } = {},
): Promise<Msg> {
  withPrediction(msg, prediction);
  const c = core();
  if (!c.isTerminal(prediction.status) || (prediction.output ?? null) === null) return msg;
  const text = await c.predictionText(client, prediction, { signal: options.signal }, options.target ?? c.targetOfPrediction(prediction));
  if (text !== undefined) msg.text = text;
  return msg;
}
