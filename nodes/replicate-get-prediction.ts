// Get prediction: fetches a prediction (or a training) by id, or polls it until it succeeds, fails
// or is canceled (the predict-and-poll workflow). Finished predictions are results, failed ones too.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { evaluate, flowNode, readSettings, withPrediction, type Send } from './flow-node';
import { finishedMessages } from './output-files';
import { withTraining } from './training-message';
import { clearPreview, previewAccount, showPreview } from './image-preview';
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
    flow.onClose(() => {
      poller?.close();
      clearPreview(RED, this);
    });

    flow.onInput(async (msg, send) => {
      const c = core();
      const s = settings();
      const client = flow.client();
      const fromSetting = await evaluate(RED, node, def.predictionId, def.predictionIdType, msg);
      const trainingId = c.trainingIdOf(fromSetting, msg);
      if (trainingId) {
        // a training's output is {version, weights}: no output files to fetch, msg.version instead
        const training = await readTraining(trainingId);
        flow.showPrediction(training);
        return sendOn(send, withTraining(msg, training), training.status);
      }
      const id = c.resolvePredictionId(fromSetting, msg);
      let prediction: Core.Prediction;
      if (s.waitForCompletion) {
        const plan = c.waitPlan(s);
        poller ??= new c.PredictionPoller(client);
        flow.progress('pollStart', { max: plan.maxPolls });
        const release = flow.waitingFor(id, msg);
        const since = Date.now();
        try {
          prediction = await c.awaitPrediction(client, poller, id, plan, {
            signal: flow.signal,
            onRetry: flow.retrying,
            onPoll: (p) => (flow.active > 1 ? flow.show('blue', 'waitingOn', { total: flow.active }, 'ring') : flow.polled(p, since)),
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
      // Its output is gone: say why, rather than send an empty output as if the model made nothing.
      if (prediction.data_removed === true) {
        withPrediction(msg, prediction);
        throw new c.DataRemovedError(prediction);
      }
      sendResult(send, await finishedMessages(flow, s.outputFiles, msg, prediction), prediction);

      async function readTraining(trainingId: string): Promise<Core.Training> {
        if (!s.waitForCompletion) {
          flow.progress('fetching');
          return client.getTraining(trainingId, { signal: flow.signal, onRetry: flow.retrying });
        }
        const plan = c.waitPlan(s);
        poller ??= new c.PredictionPoller(client);
        flow.progress('pollStart', { max: plan.maxPolls });
        const release = flow.waitingForTraining(trainingId);
        const since = Date.now();
        try {
          return await c.awaitTraining(client, poller, trainingId, plan, {
            signal: flow.signal,
            onRetry: flow.retrying,
            onPoll: (t) => flow.polled(t, since),
          });
        } catch (err) {
          if (err instanceof c.PollsExhaustedError) withTraining(msg, err.prediction);
          throw err;
        } finally {
          release();
        }
      }
    });

    flow.onResume(async (wait, send) => {
      const s = settings();
      poller ??= new (core().PredictionPoller)(flow.client());
      const prediction = await finishWait(flow, poller, wait, s);
      sendResult(send, await finishedMessages(flow, s.outputFiles, wait.msg, prediction), prediction);
    });

    /** Sends on the output its status goes to (one output, or one per outcome). */
    function sendOn(send: Send, out: NodeMessage | NodeMessage[], status: Core.PredictionStatus): void {
      const s = settings();
      if (!s.splitOutputs) return send([out]);
      const outputs: Array<NodeMessage | NodeMessage[] | null> = [null, null, null, null];
      outputs[OUTPUT_OF[status]] = out;
      send(s.waitForCompletion ? outputs.slice(0, 3) : outputs);
    }

    function sendResult(send: Send, out: NodeMessage[], prediction: Core.Prediction): void {
      flow.showPrediction(prediction);
      if (!flow.closed) showPreview(RED, node, settings(), prediction, () => previewAccount(flow));
      sendOn(send, out, prediction.status);
    }
  }

  RED.nodes.registerType('replicate-get-prediction', GetPrediction);
};
