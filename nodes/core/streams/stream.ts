// Create prediction's `stream` mode as one call: create, follow the output, hand it on as a
// message sequence (text chunks combined within the window, or one part per file), and end with
// the finished prediction.
import { Agent, type Dispatcher } from 'undici';
import type { Prediction, ReplicateClient } from '../http';
import { PollsExhaustedError, runPrediction, type PredictionPoller, type Progress, type RunRequest } from '../predictions';
import { ChunkCombiner } from './combine';
import { followPrediction, isFileStream, type ResumePolicy } from './follow';
import { FilesSequence, PartsSequence, type FilePart, type TextPart } from './sequence';
import type { StreamHosts } from './stream-hosts';

/** An account's rules for streams. */
export interface StreamLimits {
  /** Where a stream may be read from. */
  hosts: StreamHosts;
  /** The most one stream may send (its text, or its file URLs), in bytes: the largest download. */
  maxBytes: number;
}

export interface StreamOptions extends Progress, StreamLimits {
  connections: Dispatcher;
  /** Chunks arriving within this many ms go out as one; 0: every chunk. */
  combineMs: number;
  /** The incoming message's own msg.parts, kept nested in each part's. */
  outerParts?: unknown;
  onPart: (part: TextPart) => void;
  /**
   * A file of a files stream (or its closing part): called one at a time, in order, each after the
   * last has settled (it may download the file); the signal stops it when the stream fails or the node closes.
   */
  onFile: (part: FilePart, signal: AbortSignal) => void | Promise<void>;
  onLogs?: (text: string) => void;
  onReconnect?: (attempt: number, polling: boolean) => void;
  resume?: ResumePolicy;
}

/**
 * Creates the prediction and streams its output. The closing part goes out however it ends (the
 * finished prediction, an error), so a join node never waits forever; not when the node closed.
 * A failure of the stream itself (too large, a file that cannot be sent) cancels the prediction
 * when the node cancels on failure, so nothing is left running.
 */
export async function streamPrediction(
  client: ReplicateClient,
  poller: PredictionPoller,
  request: RunRequest,
  options: StreamOptions,
): Promise<Prediction> {
  const created = await runPrediction(client, poller, { ...request, wait: 'none' }, options);
  options.onCreated?.(created);
  const text = new PartsSequence(created.id, options.outerParts);
  const files = new FilesSequence(created.id, options.outerParts);
  const combiner = new ChunkCombiner(options.combineMs, (chunk) => options.onPart(text.next(chunk)));
  // a file that cannot be sent fails the message: the stream stops, and so do the files queued behind it
  const failed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  let queue = Promise.resolve();
  let fileError: Error | undefined;
  const sendFile = (part: FilePart) => {
    queue = queue.then(async () => {
      if (options.signal?.aborted) return; // the node closed: nothing more goes out
      if (failed.signal.aborted && !part.complete) return; // after a failure only the closing part
      try {
        await options.onFile(part, signal);
      } catch (err) {
        fileError = err instanceof Error ? err : new Error(String(err));
        failed.abort(fileError);
      }
    });
  };
  const streamsFiles = created.urls?.stream !== undefined && isFileStream(created.urls.stream);
  const close = async () => {
    combiner.flush();
    if (streamsFiles || files.count > 0) {
      const closing = files.close();
      if (closing) sendFile(closing);
      await queue;
    } else {
      const closing = text.close();
      if (closing) options.onPart(closing);
    }
  };
  try {
    const finished = await followPrediction(
      client,
      poller,
      created,
      request.plan,
      {
        onText: (chunk) => combiner.push(chunk),
        onFile: (url) => sendFile(files.next(url)),
        onLogs: options.onLogs,
        onReconnect: options.onReconnect,
      },
      { ...options, signal },
    );
    await close();
    if (fileError !== undefined) throw fileError;
    return finished;
  } catch (caught) {
    const err = fileError ?? caught;
    if (options.signal?.aborted) {
      combiner.close();
      throw err;
    }
    failed.abort(err);
    await close();
    if (request.plan.cancelOnTimeout && !(err instanceof PollsExhaustedError)) {
      await client.cancelPrediction(created.id, { signal: options.signal }).catch(() => undefined);
    }
    throw err;
  }
}

/** The connections of one node's streams: destroyed on close, no socket is left open. */
export function streamConnections(): Agent {
  return new Agent({ keepAliveTimeout: 1000, connectTimeout: 10_000 });
}
