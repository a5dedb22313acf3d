// What the create, get and prediction completed nodes send for a finished prediction, by their
// "Output files" setting: the prediction as it is (url), its files downloaded beside it in
// msg.files (buffer), or one message per file ready for a file out node (message).
import type * as Core from './core';
import { withFinishedPrediction, type FlowNode, type Msg } from './flow-node';

/** Files smaller than this download or upload too fast for their progress to be worth a status. */
const PROGRESS_FROM_BYTES = 1024 * 1024;

/** A percentage for the status of a transfer large enough to show one; undefined otherwise. */
export function transferPercent(done: number, total: number | undefined): number | undefined {
  if (total === undefined || total < PROGRESS_FROM_BYTES) return undefined;
  return Math.min(100, Math.floor((done * 100) / total));
}

export interface OutputFilesOptions extends Core.CallOptions {
  /** Shown while a large file downloads. */
  onPercent?: (percent: number) => void;
}

/**
 * The messages to send for the prediction, from msg as withPrediction made it: one in url mode, or
 * when it did not succeed or has no files; in message mode one per file, each with every other
 * property of msg kept.
 */
export async function outputMessages(
  mode: Core.OutputFilesMode,
  files: () => Core.FileFetcher,
  msg: Msg,
  prediction: Core.Prediction,
  options: OutputFilesOptions = {},
): Promise<Msg[]> {
  if (mode === 'url') return [msg];
  const { onPercent, ...call } = options;
  const downloaded = await files().outputFilesOf(prediction, {
    ...call,
    onProgress: (received, total) => {
      const percent = transferPercent(received, total);
      if (percent !== undefined) onPercent?.(percent);
    },
  });
  if (!downloaded) return [msg];
  if (mode === 'buffer') {
    msg.files = downloaded.map(({ url, filename, contentType, size, data }) => ({ url, filename, contentType, size, data }));
    return [msg];
  }
  return downloaded.map((file, index) => ({
    ...msg,
    payload: file.data,
    filename: file.filename,
    contentType: file.contentType,
    prediction: msg.payload,
    parts: { id: prediction.id, index, count: downloaded.length, type: 'array' },
  }));
}

/**
 * What a flow node sends for a prediction it has: msg as withFinishedPrediction makes it, its
 * files as the node's Output files mode says, download progress on the node's status. The
 * messages all go on one output (Node-RED sends each of an array given for a port).
 */
export async function finishedMessages(
  flow: FlowNode,
  mode: Core.OutputFilesMode,
  msg: Msg,
  prediction: Core.Prediction,
  target?: Core.PredictionTarget,
): Promise<Msg[]> {
  const finished = await withFinishedPrediction(msg, prediction, flow.client(), { signal: flow.signal, target });
  return outputMessages(mode, () => flow.files(), finished, prediction, {
    signal: flow.signal,
    onRetry: flow.retrying,
    onPercent: (percent) => flow.progress('downloading', { percent }),
  });
}

/**
 * One message of a files stream on the create node's output 1, by its Output files mode: the URL
 * (url), or the file downloaded (buffer, message), with msg.parts for a join; the closing part
 * carries no file. Every other property of the incoming message is kept.
 */
export async function streamedFileMessage(
  flow: FlowNode,
  mode: Core.OutputFilesMode,
  msg: Msg,
  part: Core.FilePart,
  signal: AbortSignal,
): Promise<Msg> {
  // Node-RED's type wants an index on every part; the closing one has none on purpose (see FileParts)
  const out: Msg = { ...msg, parts: part.parts as Msg['parts'], predictionId: part.parts.id };
  delete out.complete; // an incoming msg.complete would end a join early
  if (part.url === undefined) {
    delete out.payload;
    out.complete = true;
    return out;
  }
  if (mode === 'url') return { ...out, payload: part.url };
  const index = part.parts.index ?? 0;
  const file = await flow.files().download(part.url, index, index, index + 1, {
    signal,
    onRetry: flow.retrying,
    onProgress: (received, total) => {
      const percent = transferPercent(received, total);
      if (percent !== undefined) flow.progress('downloading', { percent });
    },
  });
  return { ...out, payload: file.data, filename: file.filename, contentType: file.contentType, url: file.url };
}
