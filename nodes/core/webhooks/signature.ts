// Replicate signs webhooks the Standard Webhooks way: HMAC-SHA256 over "{id}.{timestamp}.{body}",
// keyed with the base64-decoded part of the secret after "whsec_". The signature header may list
// several space-separated "v1,<base64>" entries (during a key rotation); any one may match.
import { createHmac, timingSafeEqual } from 'crypto';

/** Deliveries older or newer than this are refused: a captured delivery cannot be replayed later. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export interface SignedHeaders {
  id?: string;
  timestamp?: string;
  signature?: string;
}

export type SignatureVerdict = 'valid' | 'missing' | 'stale' | 'mismatch';

/** The last secret's key, decoded once rather than for every delivery. */
let lastKey: { secret: string; key: Buffer } | undefined;

function signingKey(secret: string): Buffer {
  if (lastKey?.secret !== secret) {
    lastKey = { secret, key: Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64') };
  }
  return lastKey.key;
}

export function signatureFor(secret: string, id: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.`).update(body).digest();
}

/** Whether the headers carry a fresh signature of exactly these body bytes by this secret. */
export function verifySignature(headers: SignedHeaders, body: Buffer, secret: string, nowMs = Date.now()): SignatureVerdict {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return 'missing';
  if (!/^\d{1,12}$/.test(timestamp)) return 'stale';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return 'stale';
  const expected = signatureFor(secret, id, timestamp, body);
  for (const entry of signature.split(' ')) {
    const [version, encoded] = entry.split(',', 2);
    if (version !== 'v1' || !encoded) continue;
    const given = Buffer.from(encoded, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return 'valid';
  }
  return 'mismatch';
}
