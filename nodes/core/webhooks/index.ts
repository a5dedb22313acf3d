// Webhooks from Replicate: the URL a create gives, the raw body, signature or shared secret,
// the receiver that judges and dedupes a delivery, the filter, and the correlation store.
export * from './url';
export * from './raw-body';
export * from './signature';
export * from './shared-secret';
export * from './secret-source';
export * from './receiver';
export * from './filter';
export * from './correlation-store';
