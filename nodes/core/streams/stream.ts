// Create prediction's `stream` mode as one call: create, follow the text, hand it on as a
// message sequence (chunks combined within the window), and end with the finished prediction.
import { Agent, type Dispatcher } from 'undici';
import type { Prediction, ReplicateClient } from '../http';
import { runPrediction, type PredictionPoller, type Progress, type RunRequest } from '../predictions';
import { ChunkCombiner } from './combine';
import { followPrediction, type ResumePolicy } from './follow';
import { PartsSequence, type TextPart } from './sequence';

export interface StreamOptions extends Progress {
  connections: Dispatcher;
  /** Chunks arriving within this many ms go out as one; 0: every chunk. */
  combineMs: number;
  /** The incoming message's own msg.parts, kept nested in each part's. */
  outerParts?: unknown;
  onPart: (part: TextPart) => void;
  onLogs?: (text: string) => void;
  onReconnect?: (attempt: number, polling: boolean) => void;
  resume?: ResumePolicy;
}

/**
 * Creates the prediction and streams its text. The closing part goes out however it ends (the
 * finished prediction, an error), so a join node never waits forever; not when the node closed.
 */
export async function streamPrediction(
  client: ReplicateClient,
  poller: PredictionPoller,
  request: RunRequest,
  options: StreamOptions,
): Promise<Prediction> {
  const created = await runPrediction(client, poller, { ...request, wait: 'none' }, options);
  options.onCreated?.(created);
  const sequence = new PartsSequence(created.id, options.outerParts);
  const combiner = new ChunkCombiner(options.combineMs, (text) => options.onPart(sequence.next(text)));
  const close = () => {
    combiner.flush();
    const closing = sequence.close();
    if (closing) options.onPart(closing);
  };
  try {
    const finished = await followPrediction(
      client,
      poller,
      created,
      request.plan,
      { onOutput: (text) => combiner.push(text), onLogs: options.onLogs, onReconnect: options.onReconnect },
      options,
    );
    close();
    return finished;
  } catch (err) {
    if (options.signal?.aborted) combiner.close();
    else close();
    throw err;
  }
}

/** The connections of one node's streams: destroyed on close, no socket is left open. */
export function streamConnections(): Agent {
  return new Agent({ keepAliveTimeout: 1000, connectTimeout: 10_000 });
}
