// The core, as the node files load it: lazily, on first use, so that merely installing the
// package does not slow down Node-RED's start (undici and zod take ~250 ms to load).
export * from './http/errors';
export * from './http/identifiers';
export * from './http/schemas';
export * from './http/client';
export * from './predictions/poller';
export * from './models/paging';
export * from './predictions/cancel-after';
export * from './settings/node-settings';
export * from './predictions/run';
export * from './settings/message-fields';
export * from './http/retry-policy';
export * from './webhooks/signature';
export * from './webhooks/shared-secret';
export * from './webhooks/secret-source';
export * from './webhooks/receiver';
export * from './webhooks/filter';
export * from './webhooks/url';
export * from './webhooks/raw-body';
export * from './webhooks/correlation-store';
export * from './models/input-schema';
export * from './models/model-inputs';
export * from './http/sentences';
