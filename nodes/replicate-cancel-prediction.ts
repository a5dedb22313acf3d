// Cancel prediction: stops a running prediction or training; one that already finished is sent on as it is.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { core } from './lazy-core';
import { evaluate, flowNode, withPrediction } from './flow-node';
import { withTraining } from './training-message';

export = (RED: NodeAPI) => {
  function CancelPrediction(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const node = this;
    const flow = flowNode(RED, this, def.replicate);

    flow.onInput(async (msg, send) => {
      const c = core();
      const client = flow.client();
      const fromSetting = await evaluate(RED, node, def.predictionId, def.predictionIdType, msg);
      const trainingId = c.trainingIdOf(fromSetting, msg);
      if (trainingId) {
        flow.progress('cancelling');
        const training = await client.cancelTraining(trainingId, { signal: flow.signal, onRetry: flow.retrying });
        flow.showPrediction(training);
        return send(withTraining(msg, training));
      }
      const id = c.resolvePredictionId(fromSetting, msg);
      flow.progress('cancelling');
      const prediction = await client.cancelPrediction(id, { signal: flow.signal, onRetry: flow.retrying });
      flow.showPrediction(prediction);
      send(withPrediction(msg, prediction));
    });
  }

  RED.nodes.registerType('replicate-cancel-prediction', CancelPrediction);
};
