// The core, loaded on first use rather than when Node-RED loads the node files: undici and zod
// take ~250 ms to load, and a Node-RED that merely has the package installed should not pay it.
import type * as Core from './core';

let loaded: typeof Core | undefined;
/** Kept once loaded: require() looks the module up anew on every call, several times per message. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, not with the node files: the point of this module
export const core = (): typeof Core => (loaded ??= require('./core') as typeof Core);
