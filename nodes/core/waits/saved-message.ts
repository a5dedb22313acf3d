// A message as a wait saves it for a restart: JSON (Buffers as base64), within a size limit. What
// JSON cannot hold (functions, sockets, cycles, msg.req/msg.res of an http in node) is left out;
// a message too large keeps its other properties and loses its payload first.

/** Bytes of JSON a saved message may take (Buffers counted as their base64). */
export const SAVED_MESSAGE_LIMIT = 1024 * 1024;

const BUFFER = '__nrReplicateBuffer';
/** An http in node's request and response: they cannot outlive the process, and are large. */
const NEVER_SAVED = new Set(['req', 'res']);

export interface SavedMessage {
  /** The message as JSON. */
  json: string;
  /** msg.payload was left out to stay within the limit. */
  payloadDropped: boolean;
}

function encode(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return Buffer.isBuffer(raw) ? { [BUFFER]: raw.toString('base64') } : value;
}

function decode(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const base64 = (value as Record<string, unknown>)[BUFFER];
    if (keys.length === 1 && typeof base64 === 'string') return Buffer.from(base64, 'base64');
  }
  return value;
}

/** msg as JSON within `limit` bytes: each property that JSON can hold, the payload dropped first, then the largest others. */
export function saveMessage(msg: Record<string, unknown>, limit = SAVED_MESSAGE_LIMIT): SavedMessage {
  const parts = new Map<string, string>();
  for (const [key, value] of Object.entries(msg)) {
    if (NEVER_SAVED.has(key) || value === undefined) continue;
    try {
      const json = JSON.stringify(value, encode);
      if (json !== undefined) parts.set(key, json);
    } catch {
      // a cycle or a BigInt: left out
    }
  }
  const size = () => [...parts].reduce((sum, [key, json]) => sum + Buffer.byteLength(key) + Buffer.byteLength(json) + 4, 2);
  let payloadDropped = false;
  if (size() > limit && parts.delete('payload')) payloadDropped = true;
  while (size() > limit && parts.size > 0) {
    const largest = [...parts].reduce((a, b) => (b[1].length > a[1].length ? b : a));
    parts.delete(largest[0]);
  }
  const json = `{${[...parts].map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
  return { json, payloadDropped };
}

/** The message saveMessage wrote, Buffers as Buffers again. */
export function restoreMessage(json: string): Record<string, unknown> {
  const msg = JSON.parse(json, decode) as unknown;
  return msg !== null && typeof msg === 'object' && !Array.isArray(msg) ? (msg as Record<string, unknown>) : {};
}
