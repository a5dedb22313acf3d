// Create prediction: runs a model (official model, version or deployment) with msg.payload as
// input (a plain string is its prompt), and sends the prediction on as created, after a sync
// wait, once it has finished, or its output as it is generated (stream: two outputs).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { completedNodeIdOf, completedNodeLinks } from './completed-node-link';
import { flowNode, readSettings } from './flow-node';
import { finishedMessages } from './output-files';
import { readTypedSettings } from './typed-settings';
import { clearPreview, previewAccount, showPreview } from './image-preview';
import { finishWait } from './resumed-wait';
import { modelInputReader } from './create-input';
import { sendRunResult, startCreateRun } from './create-run';
import { sendStreamed, sendStreamEnd } from './create-stream';

export = (RED: NodeAPI) => {
  const linkCompletedNode = completedNodeLinks(RED);

  function CreatePrediction(this: Node, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const flow = flowNode(RED, this, def.replicate);
    const settings = readSettings(flow, this, core().CreateSettingsSchema, def);
    let poller: Core.PredictionPoller | undefined;
    let connections: ReturnType<typeof Core.streamConnections> | undefined;
    flow.onClose(() => {
      poller?.close();
      void connections?.destroy();
      clearPreview(RED, this);
    });
    // nothing after close: the images cleared then belonged to the flow being replaced
    const preview = (prediction: Core.Prediction) => {
      if (!flow.closed) showPreview(RED, this, settings(), prediction, () => previewAccount(flow));
    };
    const modelInputOf = modelInputReader(this, flow);
    let communityModels: Core.CommunityModels | undefined;

    const completedNodeId = completedNodeIdOf(settings);
    const completedNode = linkCompletedNode(this, flow, completedNodeId, def.replicate);

    flow.onInput(async (msg, send) => {
      const c = core();
      const s = settings();
      const client = flow.client();
      // msg.webhook only where the node leaves the webhook open (readTypedSettings)
      const typed = await readTypedSettings(RED, this, s, msg, completedNodeId !== '');
      const plan = c.waitPlan(s);
      const input = await modelInputOf(client, msg, typed, s.validateInput);
      // Every check that can fail comes before the first upload: a message failing after it would leave its files behind.
      const webhookUrl = typed.webhook ? c.readWebhookUrl(typed.webhook.text, typed.webhook.field) : undefined;
      const cancelAfter = typed.cancelAfter ? c.checkCancelAfter(typed.cancelAfter.text, typed.cancelAfter.field) : undefined;
      const completed = completedNodeId ? await completedNode.webhookFor(msg) : undefined;
      poller ??= new c.PredictionPoller(client);
      const run = startCreateRun(this, flow, client, msg, s.deleteUploads, completed);
      const ctx = { flow, client, poller, msg, send, run, preview };
      try {
        const request: Core.RunRequest = {
          target: typed.target,
          input: await run.upload(input),
          webhook: completed?.url ?? webhookUrl,
          webhookEvents: c.webhookEventsFor(s.webhookEvents, completed !== undefined),
          wait: s.wait,
          waitSeconds: s.waitSeconds,
          cancelAfter,
          plan,
          communityModels: (communityModels ??= new c.CommunityModels()),
        };
        flow.progress(s.wait === 'sync' ? 'running' : 'creating');
        run.sending();
        if (s.wait === 'stream') await sendStreamed(ctx, request, s, (connections ??= c.streamConnections()));
        else await sendRunResult(ctx, request, s.outputFiles);
      } catch (err) {
        await run.failed(err);
        throw err;
      } finally {
        run.release();
      }
    });

    // A stream cut by a redeploy goes on as a poll: its sequence is closed for a join node, output 2 gets the prediction.
    flow.onResume(async (wait, send) => {
      const s = settings();
      poller ??= new (core().PredictionPoller)(flow.client());
      const prediction = await finishWait(flow, poller, wait, s);
      flow.showPrediction(prediction);
      preview(prediction);
      if (s.wait === 'stream') return sendStreamEnd(flow, wait, prediction, send);
      send([await finishedMessages(flow, s.outputFiles, wait.msg, prediction)]);
    });
  }

  RED.nodes.registerType('replicate-create-prediction', CreatePrediction);
};
