// Create prediction: runs a model (official model, version or deployment) with msg.payload as
// input, and sends the prediction on as created, after a sync wait, or once it has finished.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core, flowNode, readSettings, withPrediction, type Msg } from './flow-node';

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

export = (RED: NodeAPI) => {
  function CreatePrediction(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const flow = flowNode(RED, this, def.replicate);
    const settings = readSettings(flow, this, core().CreateSettingsSchema, def);
    let poller: Core.PredictionPoller | undefined;
    flow.onClose(() => poller?.close());

    flow.onInput(async (msg, send) => {
      const c = core();
      const s = settings();
      const client = flow.client();
      const webhook = c.readText(msg, 'webhook') ?? (s.webhook || undefined);
      const plan = c.waitPlan(s);
      const request: Core.RunRequest = {
        target: targetFor(s, msg),
        input: { ...s.input, ...c.readModelInput(msg.payload) },
        webhook: webhook ? c.readWebhookUrl(webhook, msg.webhook ? 'msg.webhook' : 'the webhook setting') : undefined,
        webhookEvents: s.webhookEvents,
        wait: s.wait,
        waitSeconds: s.waitSeconds,
        cancelAfter: s.cancelAfter ? c.checkCancelAfter(s.cancelAfter, 'the cancel after setting') : undefined,
        plan,
      };
      flow.show('blue', s.wait === 'sync' ? 'running' : 'creating', undefined, 'ring');
      poller ??= new c.PredictionPoller(client);
      try {
        const prediction = await c.runPrediction(client, poller, request, {
          signal: flow.signal,
          onRetry: flow.retrying,
          onPoll: (p, polls) => flow.show('blue', 'polling', { status: p.status, polls, max: plan.maxPolls }, 'ring'),
        });
        flow.showPrediction(prediction);
        send(withPrediction(msg, prediction));
      } catch (err) {
        if (err instanceof c.PollsExhaustedError) withPrediction(msg, err.prediction);
        throw err;
      }
    });
  }

  RED.nodes.registerType('replicate-create-prediction', CreatePrediction);
};
