// Cancel prediction: stops a running prediction; one that already finished is sent on as it is.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { core } from './lazy-core';
import { evaluate, flowNode, withPrediction } from './flow-node';

export = (RED: NodeAPI) => {
  function CancelPrediction(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const node = this;
    const flow = flowNode(RED, this, def.replicate);

    flow.onInput(async (msg, send) => {
      const c = core();
      const client = flow.client();
      const id = c.resolvePredictionId(await evaluate(RED, node, def.predictionId, def.predictionIdType, msg), msg);
      flow.progress('cancelling');
      const prediction = await client.cancelPrediction(id, { signal: flow.signal, onRetry: flow.retrying });
      flow.showPrediction(prediction);
      send(withPrediction(msg, prediction));
    });
  }

  RED.nodes.registerType('replicate-cancel-prediction', CancelPrediction);
};
