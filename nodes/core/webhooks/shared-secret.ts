// The integration's other way to trust a webhook: a secret carried in the webhook URL, either as
// basic credentials (https://user:secret@host/..., which arrive as an Authorization header) or
// as a `token` query parameter. A URL the create node builds carries a token derived from the
// secret and the delivery's correlation key instead, so the secret itself never travels in a
// prediction's `webhook` field (and so never into a msg).
import { createHash, createHmac, timingSafeEqual } from 'crypto';

export interface PresentedSecret {
  authorization?: string;
  token?: string;
  correlation?: string;
}

function sameSecret(given: string, expected: string): boolean {
  // Hashing first gives equal lengths, so the comparison time says nothing about the secret.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token a generated webhook URL carries: good for this correlation key only. */
export function derivedToken(secret: string, correlation: string): string {
  return createHmac('sha256', secret).update(`replicate-webhook:${correlation}`).digest('base64url');
}

function basicPassword(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? decoded : decoded.slice(colon + 1);
}

export function sharedSecretPresented(presented: PresentedSecret, secret: string): boolean {
  if (!secret) return false;
  const password = basicPassword(presented.authorization);
  if (password !== undefined && sameSecret(password, secret)) return true;
  const { token, correlation } = presented;
  if (!token) return false;
  if (sameSecret(token, secret)) return true;
  return correlation !== undefined && sameSecret(token, derivedToken(secret, correlation));
}
