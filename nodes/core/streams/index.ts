// Streams: a prediction's text as it is generated, from its server-sent events (resumed after a
// drop, polled when it cannot be), as a Node-RED message sequence.
export { readEventStream, type StreamEvent, type StreamEnd } from './sse-reader';
export { ChunkCombiner } from './combine';
export { PartsSequence, type TextPart, type TextParts } from './sequence';
export { followPrediction, restOf, DEFAULT_RESUME, type FollowHandlers, type FollowOptions, type ResumePolicy } from './follow';
export { streamPrediction, streamConnections, type StreamOptions } from './stream';
