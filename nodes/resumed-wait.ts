// A wait a create or get node took over (from the node it replaced, or saved before a restart),
// polled to its end with the node's own settings: its poll interval and budget, from the first poll.
import type * as Core from './core';
import { core } from './lazy-core';
import { withPrediction, type FlowNode } from './flow-node';
import type { CarriedWait } from './wait-handover';

/** The finished prediction; when the polls run out, the error, with the last state seen in the wait's msg. */
export async function finishWait(
  flow: FlowNode,
  poller: Core.PredictionPoller,
  wait: CarriedWait,
  settings: Core.WaitSettings,
): Promise<Core.Prediction> {
  const c = core();
  const plan = c.waitPlan(settings);
  flow.progress('pollStart', { max: plan.maxPolls });
  const since = Date.now();
  try {
    return await c.awaitPrediction(flow.client(), poller, wait.predictionId, plan, {
      signal: flow.signal,
      onRetry: flow.retrying,
      onPoll: (p) => flow.polled(p, since),
    });
  } catch (err) {
    if (err instanceof c.PollsExhaustedError) withPrediction(wait.msg, err.prediction);
    throw err;
  }
}
