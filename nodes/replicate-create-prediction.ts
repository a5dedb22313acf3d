// Create prediction: runs a model (official model, version or deployment) with msg.payload as
// input (a plain string is its prompt), and sends the prediction on as created, after a sync
// wait, once it has finished, or its text as it is generated (stream: two outputs).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { completedNodeLinks } from './completed-node-link';
import { flowNode, readSettings, withFinishedPrediction, withPrediction, type Msg } from './flow-node';
import { finishedMessages, transferPercent } from './output-files';
import { readTypedSettings } from './typed-settings';

/** One part of the text on output 1: the incoming message's properties, the part's payload and parts. */
function textMessage(msg: Msg, part: Core.TextPart): Msg {
  const out: Msg = { ...msg, payload: part.payload, parts: part.parts, predictionId: part.parts.id };
  if (part.complete) out.complete = true;
  else delete out.complete; // an incoming msg.complete would end a join early
  return out;
}

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
    });
    let promptNamed = false;
    let communityModels: Core.CommunityModels | undefined;

    let completedNodeId = '';
    try {
      // The flow property is still called `trigger`, as flows saved by earlier versions have it.
      completedNodeId = settings().trigger;
    } catch {
      // settings that cannot work are reported already, and fail every message
    }
    const completedNode = linkCompletedNode(this, flow, completedNodeId, def.replicate);

    flow.onInput(async (msg, send) => {
      const c = core();
      const s = settings();
      const client = flow.client();
      // msg.webhook only where the node leaves the webhook open (readTypedSettings)
      const { target, defaults, webhook, cancelAfter } = await readTypedSettings(RED, this, s, msg, completedNodeId !== '');
      const plan = c.waitPlan(s);
      // The schema is a help, not a gate: when Replicate cannot answer it now, the create goes unchecked (Replicate checks too).
      const knownInput = async () => {
        const cached = c.knownModelInput(client, target);
        if (cached) return cached.input;
        return c.modelInput(client, target, { signal: flow.signal, onRetry: flow.retrying }).catch((err: Core.ReplicateError) => {
          if (err.retryable && !flow.signal.aborted) return undefined;
          throw err;
        });
      };
      const prompt = typeof msg.payload === 'string' && msg.payload !== '' ? msg.payload : undefined;
      let input = prompt === undefined ? { ...defaults, ...c.readModelInput(msg.payload) } : defaults;
      // before any request: a file too large to upload fails the message at once
      c.checkFileSizes(input);
      if (prompt !== undefined) {
        // A plain string is the prompt: said once, on the status and in the log, which input it went into.
        const known = await knownInput();
        const field = (known && c.promptFieldOf(known.fields)) ?? 'prompt';
        if (!promptNamed) {
          promptNamed = true;
          flow.show('blue', 'promptField', { field }, 'ring');
          this.log(flow.say({ key: 'create.promptField', vars: { field } }));
        }
        input[field] = prompt;
      }
      if (s.validateInput) {
        const known = await knownInput();
        if (known) input = c.checkInput(known.fields, input, known.model);
      }
      // Uploaded once per message, before the create: a retried create sends the same URLs.
      const files = await c.prepareFileInputs(client, input, {
        inlineLimit: flow.inlineFileLimit(),
        signal: flow.signal,
        onRetry: flow.retrying,
        onProgress: (sent, total) => {
          const percent = transferPercent(sent, total);
          if (percent !== undefined) flow.progress('uploading', { percent });
        },
      });
      input = files.input;
      const completed = completedNodeId ? await completedNode.webhookFor(msg) : undefined;
      const request: Core.RunRequest = {
        target,
        input,
        webhook: completed?.url ?? (webhook ? c.readWebhookUrl(webhook.text, webhook.field) : undefined),
        webhookEvents: c.webhookEventsFor(s.webhookEvents, completed !== undefined),
        wait: s.wait,
        waitSeconds: s.waitSeconds,
        cancelAfter: cancelAfter ? c.checkCancelAfter(cancelAfter.text, cancelAfter.field) : undefined,
        plan,
        communityModels: (communityModels ??= new c.CommunityModels()),
      };
      flow.progress(s.wait === 'sync' ? 'running' : 'creating');
      poller ??= new c.PredictionPoller(client);
      let release: (() => void) | undefined;
      let createdId: string | undefined;
      let created = false;
      const deleteUploads = () => Promise.allSettled(files.uploaded.map((id) => client.deleteFile(id, { signal: flow.signal })));
      const progress: Core.Progress = {
        signal: flow.signal,
        onRetry: flow.retrying,
        onCreated: (prediction) => {
          created = true;
          createdId = prediction.id;
          release = flow.waitingFor(prediction.id);
          if (s.wait === 'stream') flow.progress('streaming');
        },
        onPoll: (p, polls) => flow.polled(p, polls, plan.maxPolls),
        onLatestVersion: (model, version) => {
          flow.show('blue', 'latestVersion', { id: version.slice(0, 8) }, 'ring');
          this.log(flow.say({ key: 'create.latestVersion', vars: { model, version } }));
        },
      };
      try {
        if (s.wait === 'stream') {
          connections ??= c.streamConnections();
          const prediction = await c.streamPrediction(client, poller, request, {
            ...progress,
            connections,
            combineMs: s.combineMs,
            outerParts: msg.parts,
            onPart: (part) => send([textMessage(msg, part), null]),
            onLogs: s.sendLogs ? (text) => send([null, { ...msg, topic: 'logs', payload: text, predictionId: createdId }]) : undefined,
            onReconnect: (_attempt, polling) => flow.show('yellow', polling ? 'streamPolling' : 'resuming', undefined, 'ring'),
          });
          if (s.deleteUploads) await deleteUploads();
          flow.showPrediction(prediction);
          send([null, await withFinishedPrediction(msg, prediction, client, { signal: flow.signal, target })]);
          return;
        }
        const prediction = await c.runPrediction(client, poller, request, progress);
        created = true;
        if (s.deleteUploads && s.wait === 'complete' && c.isTerminal(prediction.status)) {
          // Replicate read them when the prediction ran; failing to delete them is no reason to fail the message (they expire)
          await deleteUploads();
        }
        const out = await finishedMessages(flow, s.outputFiles, msg, prediction, target);
        // Sent on before it finished: the status says so, with the id to look for, not a `starting` that never changes.
        if (c.isTerminal(prediction.status)) flow.showPrediction(prediction);
        else flow.show('blue', 'created', { id: prediction.id.slice(0, 8) });
        send([out]);
      } catch (err) {
        if (err instanceof c.PollsExhaustedError) withPrediction(msg, err.prediction);
        // Kept for the prediction completed node unless Replicate may have the prediction after all.
        else if (completed && !c.createMayHaveHappened(err)) await completed.forget().catch(() => undefined);
        // a create Replicate certainly refused or never received reads no file: its uploads are of no use
        if (s.deleteUploads && !created && !c.createMayHaveHappened(err)) await deleteUploads();
        throw err;
      } finally {
        release?.();
      }
    });
  }

  RED.nodes.registerType('replicate-create-prediction', CreatePrediction);
};
