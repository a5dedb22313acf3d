// A create node's link to the prediction completed node it reports to (its "Webhook to" choice):
// checked at every deploy, against that node's definition (its runtime node keeps no settings),
// and asked for the webhook URL of each message. It uses Node-RED, so it lives beside the node
// files, not in the core.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { configNodeOf } from './account-client';
import { core } from './lazy-core';
import { say, type FlowNode, type Msg } from './flow-node';
import type { CompletedNodeWebhook, PredictionCompletedNode, ReplicateConfigNode } from './node-types';

type Definitions = Map<string, Record<string, unknown>>;
/** A setup that cannot work (refuse) or that fails signatures only (warn), and the status that says so. */
type LinkProblem = { refuse?: Core.Sentence; warn?: Core.Sentence; status: string };

export interface CompletedNodeLink {
  /** The URL of the chosen prediction completed node for this message; undefined when none is chosen. */
  webhookFor(msg: Msg): Promise<CompletedNodeWebhook | undefined>;
}

/**
 * The prediction completed node a create or training node sends its webhook to: the flow property is
 * still called `trigger`, as flows saved by earlier versions have it. '' when there is none, or when
 * the settings cannot work (that is reported already, and fails every message).
 */
export function completedNodeIdOf(settings: () => { trigger: string }): string {
  try {
    return settings().trigger;
  } catch {
    return '';
  }
}

/** Called once per runtime; the function it returns links one create node (and unlinks it on close). */
export function completedNodeLinks(RED: NodeAPI) {
  const nameOf = (node: Node & { name?: string }) => node.name || node.id;

  /** What is wrong between a create node and its prediction completed node: a refusal, or a warning when only signatures fail. */
  function linkProblem(completedNodeId: string, own: ReplicateConfigNode, definitions: Definitions): LinkProblem | undefined {
    const completedNode = RED.nodes.getNode(completedNodeId);
    if (completedNode?.type !== 'replicate-prediction-completed')
      return { refuse: { key: 'create.completedNodeNotDeployed' }, status: 'noCompletedNode' };
    const definition = definitions.get(completedNodeId);
    if (!definition) return undefined; // a node of a subflow instance: not the flow's to read
    const theirs = configNodeOf(RED, definition.replicate);
    if (!theirs) {
      return {
        refuse: { key: 'create.completedNodeNoConfig', vars: { completedNode: nameOf(completedNode), own: nameOf(own) } },
        status: 'completedNodeNoConfig',
      };
    }
    if (theirs !== own && definition.auth !== 'secret') {
      return {
        warn: {
          key: 'create.completedNodeOtherConfig',
          vars: { completedNode: nameOf(completedNode), theirs: nameOf(theirs), own: nameOf(own) },
        },
        status: 'completedNodeOtherConfig',
      };
    }
    return undefined;
  }

  // Nodes are created one at a time, so a create node cannot see a prediction completed node
  // defined after it: the link is checked once every flow has started, after every deploy (a
  // partial deploy may change the prediction completed node alone). One listener serves every link.
  const checks = new Set<(definitions: Definitions) => void>();
  const checkAll = () => {
    const definitions: Definitions = new Map();
    RED.nodes.eachNode((definition) => definitions.set(definition.id, definition as NodeDef & Record<string, unknown>));
    for (const check of checks) check(definitions);
  };
  function watch(check: (definitions: Definitions) => void): () => void {
    if (checks.size === 0) RED.events.on('flows:started', checkAll);
    checks.add(check);
    return () => {
      checks.delete(check);
      if (checks.size === 0) RED.events.removeListener('flows:started', checkAll);
    };
  }

  return function linkCompletedNode(node: Node, flow: FlowNode, completedNodeId: string, configId: unknown): CompletedNodeLink {
    let refusal: Error | undefined;
    let showing = false;
    const own = configNodeOf(RED, configId);
    if (completedNodeId && own) {
      flow.onClose(
        watch((definitions) => {
          const problem = linkProblem(completedNodeId, own, definitions);
          refusal = problem?.refuse ? new (core().InputError)(problem.refuse.key, problem.refuse.vars) : undefined;
          if (problem?.refuse) node.error(say(RED, problem.refuse));
          if (problem?.warn) node.warn(say(RED, problem.warn));
          if (problem) flow.show(problem.refuse ? 'red' : 'yellow', problem.status, undefined, 'ring');
          else if (showing) flow.clear();
          showing = problem !== undefined;
        }),
      );
    }
    return {
      async webhookFor(msg) {
        if (!completedNodeId) return undefined;
        if (refusal) throw refusal;
        const completedNode = RED.nodes.getNode(completedNodeId) as PredictionCompletedNode | null;
        if (completedNode?.type !== 'replicate-prediction-completed') throw new (core().InputError)('create.completedNodeNotDeployed');
        return completedNode.webhookFor(msg);
      },
    };
  };
}
