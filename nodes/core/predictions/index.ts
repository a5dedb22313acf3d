// A prediction's life: create and run, the poller and its wait plans, Cancel-After.
export * from './run';
export * from './poller';
