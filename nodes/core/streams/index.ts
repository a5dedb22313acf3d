// Streams: a prediction's output as it is generated, from its server-sent events (resumed after a
// drop, polled when it cannot be), as a Node-RED message sequence, read only from the hosts allowed.
export { readEventStream, MAX_EVENT_CHARS, type StreamEvent, type StreamEnd } from './sse-reader';
export { ChunkCombiner, MAX_HELD_CHARS } from './combine';
export { PartsSequence, FilesSequence, type TextPart, type TextParts, type FilePart, type FileParts } from './sequence';
export {
  followPrediction,
  Delivered,
  isFileStream,
  outputFileUrls,
  DEFAULT_RESUME,
  type FollowHandlers,
  type FollowOptions,
  type ResumePolicy,
} from './follow';
export { StreamHosts } from './stream-hosts';
export { streamPrediction, streamConnections, type StreamOptions, type StreamLimits } from './stream';
