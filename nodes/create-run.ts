// One message's create on a create node, from its first upload to its cleanup: the model input's
// files uploaded, the create's callbacks (the wait it starts, its progress), what a failure undoes
// (uploads Replicate will never read, the prediction completed node's kept message), and the run
// and wait modes' result: the prediction as created, after a sync wait, or once it has finished.
import type { Node } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { withPrediction, type FlowNode, type Msg, type Send } from './flow-node';
import { finishedMessages, transferPercent } from './output-files';
import type { CompletedNodeWebhook } from './node-types';

/** What a stream adds to the create's callbacks. */
export interface StreamHooks {
  /** The part that closes the stream's sequence, should a redeploy cut it (the wait carries it to the successor). */
  closing(predictionId: string): Core.TextPart | undefined;
  /** The prediction is created: the stream starts. */
  onCreated(): void;
}

export interface CreateRun {
  /** The prediction's id once Replicate has created it. */
  readonly predictionId: string | undefined;
  /** Uploads the input's files, once per message and before the create (a retried create sends the same URLs): the input with their URLs. */
  upload(input: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The create goes out now: a failure from here on may come after Replicate has the prediction. */
  sending(): void;
  /** Replicate has the prediction: it answered the create. */
  created(): void;
  /** The create's callbacks: the wait starts (handed over on redeploy) when the prediction is created. */
  progress(stream?: StreamHooks): Core.Progress;
  /** Deletes the uploads when the node's Delete uploads says so; a delete that fails fails nothing (they expire). */
  deleteUploads(): Promise<void>;
  /** Undoes what a failed message leaves behind, by what Replicate has or may have. */
  failed(err: unknown): Promise<void>;
  /** Ends the wait (the message is done with it, whatever happened). */
  release(): void;
}

/** What one message's create works with. */
export interface CreateContext {
  flow: FlowNode;
  client: Core.ReplicateClient;
  poller: Core.PredictionPoller;
  msg: Msg;
  send: Send;
  run: CreateRun;
  /** Shows a finished prediction's images under the node. */
  preview(prediction: Core.Prediction): void;
}

export function startCreateRun(
  node: Node,
  flow: FlowNode,
  client: Core.ReplicateClient,
  msg: Msg,
  deleteUploads: boolean,
  completed: CompletedNodeWebhook | undefined,
): CreateRun {
  const since = Date.now();
  let uploaded: string[] = [];
  let createSent = false;
  let created = false;
  let predictionId: string | undefined;
  let release: (() => void) | undefined;

  const deleteAll = async () => {
    if (deleteUploads) await Promise.allSettled(uploaded.map((id) => client.deleteFile(id, { signal: flow.signal })));
  };

  return {
    get predictionId() {
      return predictionId;
    },
    async upload(input) {
      const files = await core().prepareFileInputs(client, input, {
        inlineLimit: flow.inlineFileLimit(),
        signal: flow.signal,
        onRetry: flow.retrying,
        onProgress: (sent, total) => {
          const percent = transferPercent(sent, total);
          if (percent !== undefined) flow.progress('uploading', { percent });
        },
      });
      uploaded = files.uploaded;
      return files.input;
    },
    sending() {
      createSent = true;
    },
    created() {
      created = true;
    },
    progress: (stream) => ({
      signal: flow.signal,
      onRetry: flow.retrying,
      onCreated: (prediction) => {
        created = true;
        predictionId = prediction.id;
        release = flow.waitingFor(prediction.id, msg, stream ? { closing: () => stream.closing(prediction.id) } : undefined);
        stream?.onCreated();
      },
      onPoll: (p) => flow.polled(p, since),
      onLatestVersion: (model, version) => {
        flow.show('blue', 'latestVersion', { id: version.slice(0, 8) }, 'ring');
        node.log(flow.say({ key: 'create.latestVersion', vars: { model, version } }));
      },
    }),
    deleteUploads: deleteAll,
    async failed(err) {
      const c = core();
      // Replicate may have the prediction after all: a create it may have received, failing as one it may have run
      const mayExist = createSent && c.createMayHaveHappened(err);
      // canceled when the polls ran out: it reads no file any more, like one that finished
      const canceled = err instanceof c.PollsExhaustedError && err.cancelled;
      if (err instanceof c.PollsExhaustedError) withPrediction(msg, err.prediction);
      // Kept for the prediction completed node when Replicate has the prediction (a redeploy mid-wait) or may have it.
      else if (completed && !created && !mayExist) await completed.forget().catch(() => undefined);
      // a create Replicate certainly refused or never received reads no file: its uploads are of no use
      if (canceled || (!created && !mayExist)) await deleteAll();
    },
    release: () => release?.(),
  };
}

/** Run and wait modes: the prediction as created, after a sync wait or once it has finished, sent on output 1 (by Output files). */
export async function sendRunResult(ctx: CreateContext, request: Core.RunRequest, outputFiles: Core.OutputFilesMode): Promise<void> {
  const { flow, client, poller, msg, send, run } = ctx;
  const c = core();
  const prediction = await c.runPrediction(client, poller, request, run.progress());
  run.created();
  if (c.isTerminal(prediction.status)) {
    // Replicate read them when the prediction ran; failing to delete them is no reason to fail the message (they expire)
    await run.deleteUploads();
  }
  const out = await finishedMessages(flow, outputFiles, msg, prediction, request.target);
  // Sent on before it finished: the status says so, with the id to look for, not a `starting` that never changes.
  if (c.isTerminal(prediction.status)) {
    flow.showPrediction(prediction);
    ctx.preview(prediction);
  } else flow.show('blue', 'created', { id: prediction.id.slice(0, 8) });
  send([out]);
}
