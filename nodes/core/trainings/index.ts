// Trainings (fine-tuning): a trainer's training input, files zipped, the destination model made
// sure of, the create and the wait (the predictions' poller), the trained version.
export * from './destination';
export * from './run';
export * from './training-input';
export * from './zip-files';
