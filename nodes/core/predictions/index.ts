// A prediction's life: create and run (a community model by name at its latest version), the poller and its wait plans,
// Cancel-After, progress from the logs.
export * from './run';
export * from './latest-version';
export * from './poller';
export * from './progress';
export * from './removed';
