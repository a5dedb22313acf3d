// Create training: fine-tunes a trainer (a LoRA, say) on the files in msg.payload (an array of
// images is zipped) into a destination model, created when missing, and sends the training on
// as created or once it has ended, with msg.version ready for a create prediction node.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { completedNodeIdOf, completedNodeLinks } from './completed-node-link';
import { flowNode, readSettings } from './flow-node';
import { typedReader } from './typed-settings';
import { withTraining } from './training-message';

export = (RED: NodeAPI) => {
  const linkCompletedNode = completedNodeLinks(RED);

  function CreateTraining(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const flow = flowNode(RED, this, def.replicate);
    const settings = readSettings(flow, this, core().TrainingSettingsSchema, def);
    let poller: Core.PredictionPoller | undefined;
    flow.onClose(() => poller?.close());

    const completedNodeId = completedNodeIdOf(settings);
    const completedNode = linkCompletedNode(this, flow, completedNodeId, def.replicate);

    flow.onInput(async (msg, send) => {
      const c = core();
      const s = settings();
      const client = flow.client();
      const call = { signal: flow.signal, onRetry: flow.retrying };
      const since = Date.now();
      const { text, defaults } = typedReader(RED, this, msg);
      const trainerSetting: Core.Field = { key: 'field.trainerSetting' };
      const destinationSetting: Core.Field = { key: 'field.destinationSetting' };
      const trainerRef = await text(s.trainer, s.trainerType, trainerSetting, 300);
      if (!trainerRef) throw new c.InputError('check.missing', { field: trainerSetting });
      const destinationRef = await text(s.destination, s.destinationType, destinationSetting, 200);
      if (!destinationRef) throw new c.InputError('check.missing', { field: destinationSetting });
      const { owner, name } = c.parseOwnerName(destinationRef.text, destinationRef.field);
      const destination = `${owner}/${name}`;
      const trainer = await c.resolveTrainer(client, trainerRef.text, trainerRef.field, call);
      const completed = completedNodeId ? await completedNode.webhookFor(msg) : undefined;
      poller ??= new c.PredictionPoller(client);
      let release: (() => void) | undefined;
      try {
        const training = await c.runTraining(
          client,
          poller,
          {
            trainer,
            destination,
            createDestination: s.createDestination,
            hardware: s.hardware,
            defaults: await defaults({ input: s.input, inputType: 'json', inputFields: s.inputFields }),
            payload: msg.payload,
            filenames: msg.filenames,
            webhook: completed?.url,
            webhookEvents: completed ? ['completed'] : undefined,
            wait: s.wait,
            plan: { intervalMs: Math.round(s.pollInterval * 1000), maxPolls: s.maxPolls },
            deleteUploads: s.deleteUploads,
            inlineLimit: flow.inlineFileLimit(),
          },
          {
            ...call,
            onStep: (step, percent) => flow.progress(step, percent === undefined ? undefined : { percent }),
            onCreated: (training) => (release = flow.waitingForTraining(training.id)),
            onPoll: (training) => flow.polled(training, since),
          },
        );
        if (c.isTerminal(training.status)) flow.showPrediction(training);
        else flow.show('blue', 'created', { id: training.id.slice(0, 8) });
        send(withTraining(msg, training, destination));
      } catch (err) {
        if (err instanceof c.PollsExhaustedError) withTraining(msg, err.prediction, destination);
        // kept for the prediction completed node unless Replicate may have the training after all
        else if (completed && !c.createMayHaveHappened(err)) await completed.forget().catch(() => undefined);
        throw err;
      } finally {
        release?.();
      }
    });
  }

  RED.nodes.registerType('replicate-create-training', CreateTraining);
};
