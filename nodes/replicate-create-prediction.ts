// Create prediction: runs a model (official model, version or deployment) with msg.payload as
// input, and sends the prediction on as created, after a sync wait, or once it has finished.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { flowNode, readSettings, withPrediction, type Msg } from './flow-node';
import type { PredictionCompletedNode, TriggerWebhook } from './node-types';

function targetFor(settings: Core.CreateSettings, msg: Msg): Core.PredictionTarget {
  const { parseDeploymentRef, parseModelRef, readText, InputError } = core();
  if (settings.deployment) return parseDeploymentRef(settings.deployment, 'the deployment setting');
  if (settings.model) return parseModelRef(settings.model, 'the model setting');
  const deployment = readText(msg, 'deployment', 200);
  if (deployment) return parseDeploymentRef(deployment, 'msg.deployment');
  const model = readText(msg, 'model', 300);
  if (model) return parseModelRef(model, 'msg.model');
  throw new InputError('No model: set a model or deployment on the node, or send msg.model');
}

function isDeliveryRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'id' in value && 'timestamp' in value;
}

export = (RED: NodeAPI) => {
  function CreatePrediction(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const flow = flowNode(RED, this, def.replicate);
    const settings = readSettings(flow, this, core().CreateSettingsSchema, def);
    let poller: Core.PredictionPoller | undefined;
    flow.onClose(() => poller?.close());

    /** The URL of the prediction-completed node chosen as this node's webhook, if one is. */
    async function triggerWebhook(s: Core.CreateSettings, msg: Msg): Promise<TriggerWebhook | undefined> {
      if (!s.trigger) return undefined;
      const trigger = RED.nodes.getNode(s.trigger) as PredictionCompletedNode | null;
      if (trigger?.type !== 'replicate-prediction-completed') {
        throw new (core().InputError)('The "prediction completed" node chosen as webhook is not deployed: choose another one or deploy it');
      }
      return trigger.webhookFor(msg);
    }

    flow.onInput(async (msg, send) => {
      const c = core();
      const s = settings();
      const client = flow.client();
      // msg.webhook as a prediction-completed node leaves it ({id, timestamp} of its delivery) is not a URL for this create
      const typedWebhook = (isDeliveryRecord(msg.webhook) ? undefined : c.readText(msg, 'webhook')) ?? (s.trigger ? undefined : s.webhook || undefined);
      const plan = c.waitPlan(s);
      const target = targetFor(s, msg);
      let input = { ...s.input, ...c.readModelInput(msg.payload) };
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
      const trigger = typedWebhook || !s.trigger ? undefined : await triggerWebhook(s, msg);
      const request: Core.RunRequest = {
        target,
        input,
        webhook: trigger?.url ?? (typedWebhook ? c.readWebhookUrl(typedWebhook, msg.webhook ? 'msg.webhook' : 'the webhook setting') : undefined),
        webhookEvents: trigger && s.webhookEvents.length === 0 ? ['completed'] : s.webhookEvents,
        wait: s.wait,
        waitSeconds: s.waitSeconds,
        cancelAfter: s.cancelAfter ? c.checkCancelAfter(s.cancelAfter, 'the cancel after setting') : undefined,
        plan,
      };
      flow.progress(s.wait === 'sync' ? 'running' : 'creating');
      poller ??= new c.PredictionPoller(client);
      try {
        const prediction = await c.runPrediction(client, poller, request, {
          signal: flow.signal,
          onRetry: flow.retrying,
          onPoll: (p, polls) => flow.progress('polling', { status: p.status, polls, max: plan.maxPolls }),
        });
        flow.showPrediction(prediction);
        send(withPrediction(msg, prediction));
      } catch (err) {
        if (err instanceof c.PollsExhaustedError) withPrediction(msg, err.prediction);
        // Kept for the trigger unless Replicate may have the prediction after all.
        else if (trigger && !c.createMayHaveHappened(err)) await trigger.forget().catch(() => undefined);
        throw err;
      }
    });
  }

  RED.nodes.registerType('replicate-create-prediction', CreatePrediction);
};
