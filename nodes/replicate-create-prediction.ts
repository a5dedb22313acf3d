// Create prediction: runs a model (official model, version or deployment) with msg.payload as
// input (a plain string is its prompt), and sends the prediction on as created, after a sync
// wait, once it has finished, or its text as it is generated (stream: two outputs).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { completedNodeLinks } from './completed-node-link';
import { flowNode, readSettings, withFinishedPrediction, withPrediction, type Msg } from './flow-node';

function targetFor(settings: Core.CreateSettings, msg: Msg): Core.PredictionTarget {
  const { parseDeploymentRef, parseModelRef, readText, InputError } = core();
  if (settings.deployment) return parseDeploymentRef(settings.deployment, { key: 'field.deploymentSetting' });
  if (settings.model) return parseModelRef(settings.model, { key: 'field.modelSetting' });
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
      const typedWebhook =
        (isDeliveryRecord(msg.webhook) ? undefined : c.readText(msg, 'webhook')) ?? (completedNodeId ? undefined : s.webhook || undefined);
      const plan = c.waitPlan(s);
      const target = targetFor(s, msg);
      // The schema is a help, not a gate: when Replicate cannot answer it now, the create goes unchecked (Replicate checks too).
      const knownInput = async () => {
        const cached = c.knownModelInput(client, target);
        if (cached) return cached.input;
        return c.modelInput(client, target, { signal: flow.signal, onRetry: flow.retrying }).catch((err: Core.ReplicateError) => {
          if (err.retryable && !flow.signal.aborted) return undefined;
          throw err;
        });
      };
      let input: Record<string, unknown>;
      if (typeof msg.payload === 'string' && msg.payload !== '') {
        // A plain string is the prompt: said once, on the status and in the log, which input it went into.
        const known = await knownInput();
        const field = (known && c.promptFieldOf(known.fields)) ?? 'prompt';
        if (!promptNamed) {
          promptNamed = true;
          flow.show('blue', 'promptField', { field }, 'ring');
          this.log(flow.say({ key: 'create.promptField', vars: { field } }));
        }
        input = { ...s.input, [field]: msg.payload };
      } else input = { ...s.input, ...c.readModelInput(msg.payload) };
      if (s.validateInput) {
        const known = await knownInput();
        if (known) input = c.checkInput(known.fields, input, known.model);
      }
      const completed = typedWebhook || !completedNodeId ? undefined : await completedNode.webhookFor(msg);
      const request: Core.RunRequest = {
        target,
        input,
        webhook:
          completed?.url ??
          (typedWebhook ? c.readWebhookUrl(typedWebhook, msg.webhook ? 'msg.webhook' : { key: 'field.webhookSetting' }) : undefined),
        webhookEvents: c.webhookEventsFor(s.webhookEvents, completed !== undefined),
        wait: s.wait,
        waitSeconds: s.waitSeconds,
        cancelAfter: s.cancelAfter ? c.checkCancelAfter(s.cancelAfter, { key: 'field.cancelAfterSetting' }) : undefined,
        plan,
      };
      flow.progress(s.wait === 'sync' ? 'running' : 'creating');
      poller ??= new c.PredictionPoller(client);
      let release: (() => void) | undefined;
      let createdId: string | undefined;
      const progress: Core.Progress = {
        signal: flow.signal,
        onRetry: flow.retrying,
        onCreated: (created) => {
          createdId = created.id;
          release = flow.waitingFor(created.id);
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
          flow.showPrediction(prediction);
          send([null, await withFinishedPrediction(msg, prediction, client, { signal: flow.signal, target })]);
          return;
        }
        const prediction = await c.runPrediction(client, poller, request, progress);
        // Sent on before it finished: the status says so, with the id to look for, not a `starting` that never changes.
        if (c.isTerminal(prediction.status)) flow.showPrediction(prediction);
        else flow.show('blue', 'created', { id: prediction.id.slice(0, 8) });
        send(await withFinishedPrediction(msg, prediction, client, { signal: flow.signal, target }));
      } catch (err) {
        if (err instanceof c.PollsExhaustedError) withPrediction(msg, err.prediction);
        // Kept for the prediction completed node unless Replicate may have the prediction after all.
        else if (completed && !c.createMayHaveHappened(err)) await completed.forget().catch(() => undefined);
        throw err;
      } finally {
        release?.();
      }
    });
  }

  RED.nodes.registerType('replicate-create-prediction', CreatePrediction);
};
