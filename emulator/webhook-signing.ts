// Replicate signs webhooks the Standard Webhooks way: HMAC-SHA256 over "id.timestamp.body", keyed
// with the base64-decoded part of the secret after "whsec_".
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** 'v1,' + base64 signature for the webhook-signature header. */
export function signWebhook(secret: string, webhookId: string, timestampSeconds: number, body: string): string {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('A webhook secret starts with "whsec_"');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${webhookId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${signature}`;
}

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}
