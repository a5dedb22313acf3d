// A prediction's life: create and run, the poller and its wait plans, Cancel-After, progress from the logs.
export * from './run';
export * from './poller';
export * from './progress';
export * from './removed';
