// The core, as the node files load it: lazily, on first use, so that merely installing the
// package does not slow down Node-RED's start (undici and zod take ~250 ms to load).
export * from './errors';
export * from './identifiers';
export * from './schemas';
export * from './replicate-client';
export * from './prediction-poller';
export * from './pagination';
export * from './cancel-after';
export * from './node-settings';
export * from './actions';
export * from './message-fields';
export * from './retry-policy';
export * from './webhook-signature';
export * from './shared-secret';
export * from './webhook-secret-source';
export * from './webhook-receiver';
export * from './webhook-filter';
export * from './webhook-url';
export * from './raw-body';
export * from './correlation-store';
export * from './input-schema';
export * from './model-inputs';
export * from './sentences';
