// Create prediction: runs a model (official model, version or deployment) with msg.payload as
// input, and sends the prediction on as created, after a sync wait, or once it has finished.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { completedNodeLinks } from './completed-node-link';
import { flowNode, readSettings, withPrediction, type Msg } from './flow-node';
import { outputMessages, transferPercent } from './output-files';

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
    flow.onClose(() => poller?.close());

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
      let input = { ...s.input, ...c.readModelInput(msg.payload) };
      c.checkFileSizes(input);
      if (s.validateInput) {
        // The check is a help, not a gate: when Replicate cannot answer it now, the create goes unchecked (Replicate checks too).
        const cached = c.knownModelInput(client, target);
        const known = cached
          ? cached.input
          : await c.modelInput(client, target, { signal: flow.signal, onRetry: flow.retrying }).catch((err: Core.ReplicateError) => {
              if (err.retryable && !flow.signal.aborted) return undefined;
              throw err;
            });
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
      let created = false;
      const deleteUploads = () => Promise.allSettled(files.uploaded.map((id) => client.deleteFile(id, { signal: flow.signal })));
      try {
        const prediction = await c.runPrediction(client, poller, request, {
          signal: flow.signal,
          onRetry: flow.retrying,
          onCreated: (prediction) => {
            created = true;
            release = flow.waitingFor(prediction.id);
          },
          onPoll: (p, polls) => flow.progress('polling', { status: p.status, polls, max: plan.maxPolls }),
        });
        created = true;
        if (s.deleteUploads && s.wait === 'complete' && c.isTerminal(prediction.status)) {
          // Replicate read them when the prediction ran; failing to delete them is no reason to fail the message (they expire)
          await deleteUploads();
        }
        const out = await outputMessages(s.outputFiles, () => flow.files(), msg, prediction, {
          signal: flow.signal,
          onRetry: flow.retrying,
          onPercent: (percent) => flow.progress('downloading', { percent }),
        });
        flow.showPrediction(prediction);
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
