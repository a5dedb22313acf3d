// Create prediction: runs a model (official model, version or deployment) with msg.payload as
// input, and sends the prediction on as created, after a sync wait, or once it has finished.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { flowNode, readSettings, say, withPrediction, type Msg } from './flow-node';
import type { PredictionCompletedNode, ReplicateConfigNode, TriggerWebhook } from './node-types';

type Definitions = Map<string, Record<string, unknown>>;
/** A setup that cannot work (refuse) or that fails signatures only (warn), and the status that says so. */
type TriggerProblem = { refuse?: Core.Sentence; warn?: Core.Sentence; status: string };

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
  const configNode = (id: unknown) => {
    const node = typeof id === 'string' && id ? (RED.nodes.getNode(id) as ReplicateConfigNode | null) : null;
    return node?.type === 'replicate-config' ? node : undefined;
  };
  const nameOf = (node: Node & { name?: string }) => node.name || node.id;

  /**
   * What is wrong between a create node and the trigger it reports to, read from the trigger's
   * definition (its runtime node keeps no settings): a refusal, or a warning when only signatures fail.
   */
  function triggerProblem(triggerId: string, own: ReplicateConfigNode, definitions: Definitions): TriggerProblem | undefined {
    const trigger = RED.nodes.getNode(triggerId);
    if (trigger?.type !== 'replicate-prediction-completed') return { refuse: { key: 'create.triggerNotDeployed' }, status: 'noTrigger' };
    const definition = definitions.get(triggerId);
    if (!definition) return undefined; // a node of a subflow instance: not the flow's to read
    const theirs = configNode(definition.replicate);
    if (!theirs) {
      return {
        refuse: { key: 'create.triggerNoConfig', vars: { trigger: nameOf(trigger), own: nameOf(own) } },
        status: 'triggerNoConfig',
      };
    }
    if (theirs !== own && definition.auth !== 'secret') {
      return {
        warn: { key: 'create.triggerOtherConfig', vars: { trigger: nameOf(trigger), theirs: nameOf(theirs), own: nameOf(own) } },
        status: 'triggerOtherConfig',
      };
    }
    return undefined;
  }

  // Nodes are created one at a time, so a create node cannot see a trigger defined after it: the
  // setup is checked once every flow has started, after every deploy (a partial deploy may change
  // the trigger alone). One listener serves every create node that has a trigger.
  const triggerChecks = new Set<(definitions: Definitions) => void>();
  const checkTriggers = () => {
    const definitions: Definitions = new Map();
    RED.nodes.eachNode((definition) => definitions.set(definition.id, definition as NodeDef & Record<string, unknown>));
    for (const check of triggerChecks) check(definitions);
  };
  function watchTrigger(check: (definitions: Definitions) => void): () => void {
    if (triggerChecks.size === 0) RED.events.on('flows:started', checkTriggers);
    triggerChecks.add(check);
    return () => {
      triggerChecks.delete(check);
      if (triggerChecks.size === 0) RED.events.removeListener('flows:started', checkTriggers);
    };
  }

  function CreatePrediction(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const node = this;
    const flow = flowNode(RED, this, def.replicate);
    const settings = readSettings(flow, this, core().CreateSettingsSchema, def);
    let poller: Core.PredictionPoller | undefined;
    flow.onClose(() => poller?.close());

    let triggerRefusal: Error | undefined;
    let triggerStatus = false;
    let triggerId = '';
    try {
      triggerId = settings().trigger;
    } catch {
      // settings that cannot work are reported already, and fail every message
    }
    const own = configNode(def.replicate);
    if (triggerId && own) {
      flow.onClose(
        watchTrigger((definitions) => {
          const problem = triggerProblem(triggerId, own, definitions);
          triggerRefusal = problem?.refuse ? new (core().InputError)(problem.refuse.key, problem.refuse.vars) : undefined;
          if (problem?.refuse) node.error(say(RED, problem.refuse));
          if (problem?.warn) node.warn(say(RED, problem.warn));
          if (problem) flow.show(problem.refuse ? 'red' : 'yellow', problem.status, undefined, 'ring');
          else if (triggerStatus) flow.clear();
          triggerStatus = problem !== undefined;
        }),
      );
    }

    /** The URL of the prediction-completed node chosen as this node's webhook, if one is. */
    async function triggerWebhook(s: Core.CreateSettings, msg: Msg): Promise<TriggerWebhook | undefined> {
      if (!s.trigger) return undefined;
      if (triggerRefusal) throw triggerRefusal;
      const trigger = RED.nodes.getNode(s.trigger) as PredictionCompletedNode | null;
      if (trigger?.type !== 'replicate-prediction-completed') throw new (core().InputError)('create.triggerNotDeployed');
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
        const known = await c.modelInput(client, target, { signal: flow.signal, onRetry: flow.retrying }).catch((err: Core.ReplicateError) => {
          if (err.retryable && !flow.signal.aborted) return undefined;
          throw err;
        });
        if (known) input = c.checkInput(known.fields, input, known.model);
      }
      const trigger = typedWebhook ? undefined : await triggerWebhook(s, msg);
      const request: Core.RunRequest = {
        target,
        input,
        webhook: trigger?.url ?? (typedWebhook ? c.readWebhookUrl(typedWebhook, msg.webhook ? 'msg.webhook' : { key: 'field.webhookSetting' }) : undefined),
        webhookEvents: c.webhookEventsFor(s.webhookEvents, trigger !== undefined),
        wait: s.wait,
        waitSeconds: s.waitSeconds,
        cancelAfter: s.cancelAfter ? c.checkCancelAfter(s.cancelAfter, { key: 'field.cancelAfterSetting' }) : undefined,
        plan,
      };
      flow.progress(s.wait === 'sync' ? 'running' : 'creating');
      poller ??= new c.PredictionPoller(client);
      let release: (() => void) | undefined;
      try {
        const prediction = await c.runPrediction(client, poller, request, {
          signal: flow.signal,
          onRetry: flow.retrying,
          onCreated: (created) => (release = flow.waitingFor(created.id)),
          onPoll: (p, polls) => flow.progress('polling', { status: p.status, polls, max: plan.maxPolls }),
        });
        flow.showPrediction(prediction);
        send(withPrediction(msg, prediction));
      } catch (err) {
        if (err instanceof c.PollsExhaustedError) withPrediction(msg, err.prediction);
        // Kept for the trigger unless Replicate may have the prediction after all.
        else if (trigger && !c.createMayHaveHappened(err)) await trigger.forget().catch(() => undefined);
        throw err;
      } finally {
        release?.();
      }
    });
  }

  RED.nodes.registerType('replicate-create-prediction', CreatePrediction);
};
