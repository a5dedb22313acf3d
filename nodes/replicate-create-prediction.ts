// Create prediction: runs a model (official model, version or deployment) with msg.payload as
// input (a plain string is its prompt), and sends the prediction on as created, after a sync
// wait, once it has finished, or its output as it is generated (stream: two outputs).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { completedNodeLinks } from './completed-node-link';
import { flowNode, readSettings, withFinishedPrediction, withPrediction, type Msg } from './flow-node';
import { finishedMessages, streamedFileMessage, transferPercent } from './output-files';
import { readTypedSettings } from './typed-settings';
import { clearPreview, previewAccount, showPreview } from './image-preview';
import { finishWait } from './resumed-wait';
import { closingPart } from './wait-handover';

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
      clearPreview(RED, this);
    });
    // nothing after close: the images cleared then belonged to the flow being replaced
    const preview = (prediction: Core.Prediction) => {
      if (!flow.closed) showPreview(RED, this, settings(), prediction, () => previewAccount(flow));
    };
    // which input a plain string or a file payload went into is said once, not for every message
    const named = new Set<'promptField' | 'fileField'>();
    const sayOnce = (key: 'promptField' | 'fileField', field: string) => {
      if (named.has(key)) return;
      named.add(key);
      flow.show('blue', key, { field }, 'ring');
      this.log(flow.say({ key: `create.${key}`, vars: { field } }));
    };
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
      const { target, defaults, payloadField, webhook, cancelAfter } = await readTypedSettings(RED, this, s, msg, completedNodeId !== '');
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
      // a form row bound to msg.payload took it as it is: it is then not also the input object, a prompt or a file
      const payload = payloadField === undefined ? msg.payload : undefined;
      const prompt = typeof payload === 'string' && payload !== '' ? payload : undefined;
      const file = c.isFileData(payload) ? payload : undefined;
      let input = prompt === undefined && file === undefined ? { ...defaults, ...c.readModelInput(payload) } : { ...defaults };
      // before any request: a file too large to upload fails the message at once
      c.checkFileSizes(file ? { ...input, 'msg.payload': file } : input);
      if (prompt !== undefined) {
        // A plain string is the prompt: said once, on the status and in the log, which input it went into.
        const known = await knownInput();
        const field = (known && c.promptFieldOf(known.fields)) ?? 'prompt';
        sayOnce('promptField', field);
        input[field] = prompt;
      }
      if (file !== undefined) {
        // A Buffer (core read file's) is the model's file: its first required file input, else its only one.
        const known = await knownInput();
        const field = known && c.fileFieldOf(known.fields);
        if (!field) throw new c.InputError('create.noFileField');
        sayOnce('fileField', field);
        input[field] = file;
      }
      if (s.validateInput) {
        const known = await knownInput();
        if (known) input = c.checkInput(known.fields, input, known.model);
      }
      // Every check that can fail comes before the first upload: a message failing after it would leave its files behind.
      const webhookUrl = webhook ? c.readWebhookUrl(webhook.text, webhook.field) : undefined;
      const cancelAfterText = cancelAfter ? c.checkCancelAfter(cancelAfter.text, cancelAfter.field) : undefined;
      const completed = completedNodeId ? await completedNode.webhookFor(msg) : undefined;
      poller ??= new c.PredictionPoller(client);
      let release: (() => void) | undefined;
      let createdId: string | undefined;
      let createSent = false;
      let created = false;
      const since = Date.now();
      let chunks = 0;
      let chunksShown = 0;
      // counted on the status a few times a second, not for every chunk: each status goes to every editor open
      const countChunk = () => {
        chunks++;
        const now = Date.now();
        if (now - chunksShown >= 250) {
          chunksShown = now;
          flow.progress('streamingChunks', { total: chunks });
        }
      };
      let lastPart: Core.TextPart | undefined;
      let uploaded: string[] = [];
      const deleteUploads = () => Promise.allSettled(uploaded.map((id) => client.deleteFile(id, { signal: flow.signal })));
      const progress: Core.Progress = {
        signal: flow.signal,
        onRetry: flow.retrying,
        onCreated: (prediction) => {
          created = true;
          createdId = prediction.id;
          const closing = () => closingPart(lastPart, prediction.id, msg.parts);
          release = flow.waitingFor(prediction.id, msg, s.wait === 'stream' ? { closing } : undefined);
          if (s.wait === 'stream') {
            flow.progress('streaming');
            chunksShown = Date.now();
          }
        },
        onPoll: (p) => flow.polled(p, since),
        onLatestVersion: (model, version) => {
          flow.show('blue', 'latestVersion', { id: version.slice(0, 8) }, 'ring');
          this.log(flow.say({ key: 'create.latestVersion', vars: { model, version } }));
        },
      };
      try {
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
        uploaded = files.uploaded;
        const request: Core.RunRequest = {
          target,
          input: files.input,
          webhook: completed?.url ?? webhookUrl,
          webhookEvents: c.webhookEventsFor(s.webhookEvents, completed !== undefined),
          wait: s.wait,
          waitSeconds: s.waitSeconds,
          cancelAfter: cancelAfterText,
          plan,
          communityModels: (communityModels ??= new c.CommunityModels()),
        };
        flow.progress(s.wait === 'sync' ? 'running' : 'creating');
        createSent = true;
        if (s.wait === 'stream') {
          connections ??= c.streamConnections();
          const prediction = await c.streamPrediction(client, poller, request, {
            ...progress,
            ...flow.streamLimits(),
            connections,
            combineMs: s.combineMs,
            outerParts: msg.parts,
            onPart: (part) => {
              if (flow.closed) return; // the successor closes the sequence after the last part sent
              lastPart = part;
              countChunk();
              send([textMessage(msg, part), null]);
            },
            onFile: async (part, signal) => {
              if (flow.closed) return;
              countChunk();
              send([await streamedFileMessage(flow, s.outputFiles, msg, part, signal), null]);
            },
            onLogs: s.sendLogs ? (text) => send([null, { ...msg, topic: 'logs', payload: text, predictionId: createdId }]) : undefined,
            onReconnect: (_attempt, polling) => flow.show('yellow', polling ? 'streamPolling' : 'resuming', undefined, 'ring'),
          });
          if (s.deleteUploads) await deleteUploads();
          flow.showPrediction(prediction);
          preview(prediction);
          send([null, await withFinishedPrediction(msg, prediction, client, { signal: flow.signal, target })]);
          return;
        }
        const prediction = await c.runPrediction(client, poller, request, progress);
        created = true;
        if (s.deleteUploads && c.isTerminal(prediction.status)) {
          // Replicate read them when the prediction ran; failing to delete them is no reason to fail the message (they expire)
          await deleteUploads();
        }
        const out = await finishedMessages(flow, s.outputFiles, msg, prediction, target);
        // Sent on before it finished: the status says so, with the id to look for, not a `starting` that never changes.
        if (c.isTerminal(prediction.status)) {
          flow.showPrediction(prediction);
          preview(prediction);
        } else flow.show('blue', 'created', { id: prediction.id.slice(0, 8) });
        send([out]);
      } catch (err) {
        // Replicate may have the prediction after all: a create it may have received, failing as one it may have run
        const mayExist = createSent && c.createMayHaveHappened(err);
        // canceled when the polls ran out: it reads no file any more, like one that finished
        const canceled = err instanceof c.PollsExhaustedError && err.cancelled;
        if (err instanceof c.PollsExhaustedError) withPrediction(msg, err.prediction);
        // Kept for the prediction completed node when Replicate has the prediction (a redeploy mid-wait) or may have it.
        else if (completed && !created && !mayExist) await completed.forget().catch(() => undefined);
        // a create Replicate certainly refused or never received reads no file: its uploads are of no use
        if (s.deleteUploads && (canceled || (!created && !mayExist))) await deleteUploads();
        throw err;
      } finally {
        release?.();
      }
    });

    // A stream cut by a redeploy goes on as a poll: its sequence is closed for a join node, output 2 gets the prediction.
    flow.onResume(async (wait, send) => {
      const s = settings();
      poller ??= new (core().PredictionPoller)(flow.client());
      const prediction = await finishWait(flow, poller, wait, s);
      flow.showPrediction(prediction);
      preview(prediction);
      if (s.wait !== 'stream') return send([await finishedMessages(flow, s.outputFiles, wait.msg, prediction)]);
      const closing = wait.closing?.();
      if (closing) send([textMessage(wait.msg, closing), null]);
      send([null, await withFinishedPrediction(wait.msg, prediction, flow.client(), { signal: flow.signal })]);
    });
  }

  RED.nodes.registerType('replicate-create-prediction', CreatePrediction);
};
