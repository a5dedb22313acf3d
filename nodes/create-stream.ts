// A create node's stream mode: the output as it is generated on output 1 (text parts, or one message
// per file, each with msg.parts for a join), the finished prediction on output 2. A stream a redeploy
// cuts goes on as a poll in the node that replaces it, which sends the closing part and output 2.
import type * as Core from './core';
import { core } from './lazy-core';
import { withFinishedPrediction, type FlowNode, type Msg, type Send } from './flow-node';
import { streamedFileMessage } from './output-files';
import { closingPart, type CarriedWait } from './wait-handover';
import type { CreateContext } from './create-run';

/** One part of the text on output 1: the incoming message's properties, the part's payload and parts. */
function textMessage(msg: Msg, part: Core.TextPart): Msg {
  const out: Msg = { ...msg, payload: part.payload, parts: part.parts, predictionId: part.parts.id };
  if (part.complete) out.complete = true;
  else delete out.complete; // an incoming msg.complete would end a join early
  return out;
}

/** The parts sent, counted on the status a few times a second, not for every chunk: each status goes to every editor open. */
function chunkCounter(flow: FlowNode) {
  let total = 0;
  let shownAt = 0;
  return {
    /** The stream started: its `streaming` status stays a moment before the count replaces it. */
    start: () => {
      shownAt = Date.now();
    },
    count: () => {
      total++;
      const now = Date.now();
      if (now - shownAt >= 250) {
        shownAt = now;
        flow.progress('streamingChunks', { total });
      }
    },
  };
}

/** Stream mode: creates the prediction, sends its output as it comes on output 1, then the finished prediction on output 2. */
export async function sendStreamed(
  ctx: CreateContext,
  request: Core.RunRequest,
  s: Pick<Core.CreateSettings, 'combineMs' | 'outputFiles' | 'sendLogs'>,
  connections: ReturnType<typeof Core.streamConnections>,
): Promise<void> {
  const { flow, client, poller, msg, send, run } = ctx;
  const chunks = chunkCounter(flow);
  let lastPart: Core.TextPart | undefined;
  const prediction = await core().streamPrediction(client, poller, request, {
    ...run.progress({
      closing: (predictionId) => closingPart(lastPart, predictionId, msg.parts),
      onCreated: () => {
        flow.progress('streaming');
        chunks.start();
      },
    }),
    ...flow.streamLimits(),
    connections,
    combineMs: s.combineMs,
    outerParts: msg.parts,
    onPart: (part) => {
      if (flow.closed) return; // the successor closes the sequence after the last part sent
      lastPart = part;
      chunks.count();
      send([textMessage(msg, part), null]);
    },
    onFile: async (part, signal) => {
      if (flow.closed) return;
      chunks.count();
      send([await streamedFileMessage(flow, s.outputFiles, msg, part, signal), null]);
    },
    onLogs: s.sendLogs ? (text) => send([null, { ...msg, topic: 'logs', payload: text, predictionId: run.predictionId }]) : undefined,
    onReconnect: (_attempt, polling) => flow.show('yellow', polling ? 'streamPolling' : 'resuming', undefined, 'ring'),
  });
  await run.deleteUploads();
  flow.showPrediction(prediction);
  ctx.preview(prediction);
  send([null, await withFinishedPrediction(msg, prediction, client, { signal: flow.signal, target: request.target })]);
}

/** A stream a redeploy cut, finished by polling in the successor: its closing part for a join (when due), the prediction on output 2. */
export async function sendStreamEnd(flow: FlowNode, wait: CarriedWait, prediction: Core.Prediction, send: Send): Promise<void> {
  const closing = wait.closing?.();
  if (closing) send([textMessage(wait.msg, closing), null]);
  send([null, await withFinishedPrediction(wait.msg, prediction, flow.client(), { signal: flow.signal })]);
}
