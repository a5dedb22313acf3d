// A training as the nodes send it: the training object untouched in msg.payload (only its webhook
// URL's password masked, in a copy), msg.trainingId and msg.status beside it, and once it has
// succeeded msg.version (`destination:version`, ready for a create node's model) and msg.weights.
import type * as Core from './core';
import { core } from './lazy-core';
import type { Msg } from './flow-node';

export function withTraining(msg: Msg, training: Core.Training, destination?: string): Msg {
  const c = core();
  const { webhook } = training as { webhook?: unknown };
  const masked = typeof webhook === 'string' ? c.maskPassword(webhook) : webhook;
  msg.payload = masked === webhook ? training : { ...training, webhook: masked };
  msg.trainingId = training.id;
  msg.status = training.status;
  const version = training.status === 'succeeded' ? c.trainedVersion(training, destination) : undefined;
  if (version !== undefined) {
    msg.version = version;
    const weights = c.trainedWeights(training);
    if (weights !== undefined) msg.weights = weights;
  }
  return msg;
}
