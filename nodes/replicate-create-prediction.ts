// Create prediction: runs a model (official model, version or deployment) with msg.payload as
// input (a plain string is its prompt), and sends the prediction on as created, after a sync
// wait, once it has finished, or its text as it is generated (stream: two outputs).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { completedNodeLinks } from './completed-node-link';
import { evaluate, flowNode, readSettings, withFinishedPrediction, withPrediction, type Msg } from './flow-node';
import { outputMessages, transferPercent } from './output-files';

type Source = Core.CreateSettings['modelType'] | Core.CreateSettings['inputType'] | Core.FieldSource;

/** How a sentence names a value read from somewhere: `msg.image`, `flow.model`, `env.MODEL`, or the JSONata expression. */
function sourceLabel(type: Source, value: string): string {
  return type === 'jsonata' ? `JSONata ${value.length > 40 ? `${value.slice(0, 37)}...` : value}` : `${type}.${value}`;
}

/**
 * Reads the TypedInput settings for one message: the fixed value as it was saved, else the value
 * of the msg, flow, global or env property (or JSONata expression) it names, with its label.
 */
function typedReader(RED: NodeAPI, node: Node, msg: Msg) {
  return async (value: string, type: Source): Promise<{ value: unknown; label: string }> => {
    const label = sourceLabel(type, value);
    try {
      return { value: await evaluate(RED, node, value, type, msg), label };
    } catch (err) {
      throw new (core().InputError)('message.notRead', { field: label, reason: err instanceof Error ? err.message : String(err) });
    }
  };
}

async function targetFor(s: Core.CreateSettings, msg: Msg, read: ReturnType<typeof typedReader>): Promise<Core.PredictionTarget> {
  const { parseDeploymentRef, parseModelRef, readText, readTextValue, InputError } = core();
  // a setting left empty keeps the older fallback on msg.deployment and msg.model
  const text = async (value: string, type: Core.TextSource, setting: Core.Field, max: number) => {
    if (type === 'str' || !value) return value ? { text: value, field: setting } : undefined;
    const { value: found, label } = await read(value, type);
    const text = readTextValue(found, label, max);
    return text ? { text, field: label } : undefined;
  };
  const deploymentSetting = await text(s.deployment, s.deploymentType, { key: 'field.deploymentSetting' }, 200);
  if (deploymentSetting) return parseDeploymentRef(deploymentSetting.text, deploymentSetting.field);
  const modelSetting = await text(s.model, s.modelType, { key: 'field.modelSetting' }, 300);
  if (modelSetting) return parseModelRef(modelSetting.text, modelSetting.field);
  const deployment = readText(msg, 'deployment', 200);
  if (deployment) return parseDeploymentRef(deployment, 'msg.deployment');
  const model = readText(msg, 'model', 300);
  if (model) return parseModelRef(model, 'msg.model');
  throw new InputError('message.noModel');
}

/** One part of the text on output 1: the incoming message's properties, the part's payload and parts. */
function textMessage(msg: Msg, part: Core.TextPart): Msg {
  const out: Msg = { ...msg, payload: part.payload, parts: part.parts, predictionId: part.parts.id };
  if (part.complete) out.complete = true;
  else delete out.complete; // an incoming msg.complete would end a join early
  return out;
}

/** The node's default input with the form's msg/flow/global/env/JSONata fields read for this message; an empty field is not sent. */
async function defaultInput(s: Core.CreateSettings, read: ReturnType<typeof typedReader>): Promise<Record<string, unknown>> {
  const c = core();
  let input: Record<string, unknown>;
  // the settings' check makes `input` an object for json, and keeps a property name as text for the others
  if (typeof s.input === 'object') input = { ...s.input };
  else {
    const { value, label } = await read(s.input, s.inputType);
    input = { ...c.readInputObject(value, label) };
  }
  for (const [name, field] of Object.entries(s.inputFields)) {
    const { value } = await read(field.value, field.type);
    if (value !== undefined && value !== null && value !== '') input[name] = value;
  }
  return input;
}

function isDeliveryRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'id' in value && 'timestamp' in value;
}

export = (RED: NodeAPI) => {
  const linkCompletedNode = completedNodeLinks(RED);

  function CreatePrediction(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const flow = flowNode(RED, this, def.replicate);
    const settings = readSettings(flow, this, core().CreateSettingsSchema, def);
    let poller: Core.PredictionPoller | undefined;
    let connections: ReturnType<typeof Core.streamConnections> | undefined;
    flow.onClose(() => {
      poller?.close();
      void connections?.destroy();
    });
    let promptNamed = false;

    let completedNodeId = '';
    try {
      // The flow property is still called `trigger`, as flows saved by earlier versions have it.
      completedNodeId = settings().trigger;
    } catch {
      // settings that cannot work are reported already, and fail every message
    }
    const completedNode = linkCompletedNode(this, flow, completedNodeId, def.replicate);

    flow.onInput(async (msg, send) => {
      const c = core();
      const s = settings();
      const client = flow.client();
      // msg.webhook as a prediction-completed node leaves it ({id, timestamp} of its delivery) is not a URL for this create
      const read = typedReader(RED, this, msg);
      const fromMsg = isDeliveryRecord(msg.webhook) ? undefined : c.readText(msg, 'webhook');
      let webhookSetting: { url: string; field: Core.Field } | undefined;
      if (!fromMsg && !completedNodeId && s.webhook) {
        if (s.webhookType === 'str') webhookSetting = { url: s.webhook, field: { key: 'field.webhookSetting' } };
        else {
          const { value, label } = await read(s.webhook, s.webhookType);
          const url = c.readTextValue(value, label);
          webhookSetting = url ? { url, field: label } : undefined;
        }
      }
      const plan = c.waitPlan(s);
      const target = await targetFor(s, msg, read);
      let cancelAfter: { text: string; field: Core.Field } | undefined;
      if (s.cancelAfterType === 'str')
        cancelAfter = s.cancelAfter ? { text: s.cancelAfter, field: { key: 'field.cancelAfterSetting' } } : undefined;
      else if (s.cancelAfter) {
        const { value, label } = await read(s.cancelAfter, s.cancelAfterType);
        const text = c.readTextValue(value, label, 40);
        cancelAfter = text ? { text, field: label } : undefined;
      }
      // The schema is a help, not a gate: when Replicate cannot answer it now, the create goes unchecked (Replicate checks too).
      const knownInput = async () => {
        const cached = c.knownModelInput(client, target);
        if (cached) return cached.input;
        return c.modelInput(client, target, { signal: flow.signal, onRetry: flow.retrying }).catch((err: Core.ReplicateError) => {
          if (err.retryable && !flow.signal.aborted) return undefined;
          throw err;
        });
      };
      const prompt = typeof msg.payload === 'string' && msg.payload !== '' ? msg.payload : undefined;
      const defaults = await defaultInput(s, read);
      let input = prompt === undefined ? { ...defaults, ...c.readModelInput(msg.payload) } : defaults;
      // before any request: a file too large to upload fails the message at once
      c.checkFileSizes(input);
      if (prompt !== undefined) {
        // A plain string is the prompt: said once, on the status and in the log, which input it went into.
        const known = await knownInput();
        const field = (known && c.promptFieldOf(known.fields)) ?? 'prompt';
        if (!promptNamed) {
          promptNamed = true;
          flow.show('blue', 'promptField', { field }, 'ring');
          this.log(flow.say({ key: 'create.promptField', vars: { field } }));
        }
        input[field] = prompt;
      }
      if (s.validateInput) {
        const known = await knownInput();
        if (known) input = c.checkInput(known.fields, input, known.model);
      }
      // Uploaded once per message, before the create: a retried create sends the same URLs.
      const files = await c.prepareFileInputs(client, input, {
        inlineLimit: flow.inlineFileLimit(),
        signal: flow.signal,
        onRetry: flow.retrying,
        onProgress: (sent, total) => {
          const percent = transferPercent(sent, total);
          if (percent !== undefined) flow.progress('uploading', { percent });
        },
      });
      input = files.input;
      const completed = fromMsg || !completedNodeId ? undefined : await completedNode.webhookFor(msg);
      const request: Core.RunRequest = {
        target,
        input,
        webhook:
          completed?.url ??
          (fromMsg
            ? c.readWebhookUrl(fromMsg, 'msg.webhook')
            : webhookSetting
              ? c.readWebhookUrl(webhookSetting.url, webhookSetting.field)
              : undefined),
        webhookEvents: c.webhookEventsFor(s.webhookEvents, completed !== undefined),
        wait: s.wait,
        waitSeconds: s.waitSeconds,
        cancelAfter: cancelAfter ? c.checkCancelAfter(cancelAfter.text, cancelAfter.field) : undefined,
        plan,
      };
      flow.progress(s.wait === 'sync' ? 'running' : 'creating');
      poller ??= new c.PredictionPoller(client);
      let release: (() => void) | undefined;
      let createdId: string | undefined;
      let created = false;
      const deleteUploads = () => Promise.allSettled(files.uploaded.map((id) => client.deleteFile(id, { signal: flow.signal })));
      const progress: Core.Progress = {
        signal: flow.signal,
        onRetry: flow.retrying,
        onCreated: (prediction) => {
          created = true;
          createdId = prediction.id;
          release = flow.waitingFor(prediction.id);
          if (s.wait === 'stream') flow.progress('streaming');
        },
        onPoll: (p, polls) => flow.polled(p, polls, plan.maxPolls),
      };
      try {
        if (s.wait === 'stream') {
          connections ??= c.streamConnections();
          const prediction = await c.streamPrediction(client, poller, request, {
            ...progress,
            connections,
            combineMs: s.combineMs,
            outerParts: msg.parts,
            onPart: (part) => send([textMessage(msg, part), null]),
            onLogs: s.sendLogs ? (text) => send([null, { ...msg, topic: 'logs', payload: text, predictionId: createdId }]) : undefined,
            onReconnect: (_attempt, polling) => flow.show('yellow', polling ? 'streamPolling' : 'resuming', undefined, 'ring'),
          });
          if (s.deleteUploads) await deleteUploads();
          flow.showPrediction(prediction);
          send([null, await withFinishedPrediction(msg, prediction, client, { signal: flow.signal, target })]);
          return;
        }
        const prediction = await c.runPrediction(client, poller, request, progress);
        created = true;
        if (s.deleteUploads && s.wait === 'complete' && c.isTerminal(prediction.status)) {
          // Replicate read them when the prediction ran; failing to delete them is no reason to fail the message (they expire)
          await deleteUploads();
        }
        const finished = await withFinishedPrediction(msg, prediction, client, { signal: flow.signal, target });
        const out = await outputMessages(s.outputFiles, () => flow.files(), finished, prediction, {
          signal: flow.signal,
          onRetry: flow.retrying,
          onPercent: (percent) => flow.progress('downloading', { percent }),
        });
        // Sent on before it finished: the status says so, with the id to look for, not a `starting` that never changes.
        if (c.isTerminal(prediction.status)) flow.showPrediction(prediction);
        else flow.show('blue', 'created', { id: prediction.id.slice(0, 8) });
        send(out.length === 1 ? out[0]! : [out]);
      } catch (err) {
        if (err instanceof c.PollsExhaustedError) withPrediction(msg, err.prediction);
        // Kept for the prediction completed node unless Replicate may have the prediction after all.
        else if (completed && !c.createMayHaveHappened(err)) await completed.forget().catch(() => undefined);
        // a create Replicate certainly refused or never received reads no file: its uploads are of no use
        if (s.deleteUploads && !created && !c.createMayHaveHappened(err)) await deleteUploads();
        throw err;
      } finally {
        release?.();
      }
    });
  }

  RED.nodes.registerType('replicate-create-prediction', CreatePrediction);
};
