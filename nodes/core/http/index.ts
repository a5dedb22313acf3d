// The HTTP client and what it checks: request paths and answers (schemas), errors and their
// sentences, retries and Retry-After, rate and concurrency limits. Imports no other concept.
export { AbortListeners } from './abort-listeners';
export * from './client';
export * from './errors';
export * from './identifiers';
export * from './retry-policy';
export * from './schemas';
export * from './sentences';
