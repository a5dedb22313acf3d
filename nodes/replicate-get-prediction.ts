// Get prediction: fetches a prediction by id, or polls it until it succeeds, fails or is
// canceled (the predict-and-poll workflow). Finished predictions are results, failed ones too.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { evaluate, flowNode, readSettings, withPrediction, type Send } from './flow-node';
import { finishedMessages } from './output-files';
import { finishWait } from './resumed-wait';

/** With split outputs: succeeded, failed, canceled or aborted, still running. */
const OUTPUT_OF: Record<Core.PredictionStatus, number> = {
  succeeded: 0,
  failed: 1,
  canceled: 2,
  aborted: 2,
  starting: 3,
  processing: 3,
};

export = (RED: NodeAPI) => {
  function GetPrediction(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const node = this;
    const flow = flowNode(RED, this, def.replicate);
    const settings = readSettings(flow, this, core().GetSettingsSchema, def);
    let poller: Core.PredictionPoller | undefined;
    flow.onClose(() => poller?.close());

    flow.onInput(async (msg, send) => {
      const c = core();
      const s = settings();
      const client = flow.client();
      const id = c.resolvePredictionId(await evaluate(RED, node, def.predictionId, def.predictionIdType, msg), msg);
      let prediction: Core.Prediction;
      if (s.waitForCompletion) {
        const plan = c.waitPlan(s);
        poller ??= new c.PredictionPoller(client);
        flow.progress('pollStart', { max: plan.maxPolls });
        const release = flow.waitingFor(id, msg);
        try {
          prediction = await c.awaitPrediction(client, poller, id, plan, {
            signal: flow.signal,
            onRetry: flow.retrying,
            onPoll: (p, polls) =>
              flow.active > 1 ? flow.show('blue', 'waitingOn', { total: flow.active }, 'ring') : flow.polled(p, polls, plan.maxPolls),
          });
        } catch (err) {
          if (err instanceof c.PollsExhaustedError) withPrediction(msg, err.prediction);
          throw err;
        } finally {
          release();
        }
      } else {
        flow.progress('fetching');
        prediction = await client.getPrediction(id, { signal: flow.signal, onRetry: flow.retrying });
      }
      sendResult(send, await finishedMessages(flow, s.outputFiles, msg, prediction), prediction);
    });

    flow.onResume(async (wait, send) => {
      const s = settings();
      poller ??= new (core().PredictionPoller)(flow.client());
      const prediction = await finishWait(flow, poller, wait, s);
      sendResult(send, await finishedMessages(flow, s.outputFiles, wait.msg, prediction), prediction);
    });

    function sendResult(send: Send, out: NodeMessage[], prediction: Core.Prediction): void {
      const s = settings();
      flow.showPrediction(prediction);
      if (!s.splitOutputs) return send([out]);
      const outputs: Array<NodeMessage[] | null> = [null, null, null, null];
      outputs[OUTPUT_OF[prediction.status]] = out;
      send(s.waitForCompletion ? outputs.slice(0, 3) : outputs);
    }
  }

  RED.nodes.registerType('replicate-get-prediction', GetPrediction);
};
