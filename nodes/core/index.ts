// The core, as the node files load it: lazily, on first use, so that merely installing the
// package does not slow down Node-RED's start (undici and zod take ~250 ms to load).
// One folder per concept, each with an index.ts as its public surface; see CONTRIBUTING.md.
// files/ and streams/ join here once they hold code.
export * from './http';
export * from './predictions';
export * from './models';
export * from './webhooks';
export * from './settings';
export * from './files';
export * from './streams';
export * from './trainings';
export * from './waits';
