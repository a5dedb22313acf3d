// Webhook delivery: signed POSTs, retried after a non-2xx answer or a connection error, every
// attempt recorded. A failing receiver must never take the emulator down.
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { signWebhook } from './webhook-signing';
import type { Timers } from './timers';
import type { WebhookDelivery, WebhookEvent } from './types';

export interface WebhookMessage {
  webhookId: string;
  event: WebhookEvent;
  predictionId: string;
  url: string;
  body: string;
  secret: string;
}

const USER_AGENT = 'replicate-emulator/1.0 (@nr-replicate/node-red-replicate)';
const ATTEMPT_TIMEOUT_MS = 10_000;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function messageId(): string {
  return 'msg_' + [...randomBytes(27)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

// The emulator works offline: it refuses to send anything beyond this machine and private networks.
function isLocalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  return isIP(host) === 6 && (host === '::1' || /^f[cd]/.test(host) || host.startsWith('fe80:') || host.startsWith('::ffff:127.'));
}

export class WebhookSender {
  deliveries: WebhookDelivery[] = [];
  delivered = 0;
  private readonly messages = new Map<string, WebhookMessage>();
  private readonly agent = new Agent({ connect: { timeout: ATTEMPT_TIMEOUT_MS } });
  private pending = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly timers: Timers,
    private readonly retryDelaysMs: readonly number[],
  ) {}

  send(message: Omit<WebhookMessage, 'webhookId'>): void {
    const full = { ...message, webhookId: messageId() };
    this.messages.set(full.webhookId, full);
    void this.attempt(full, 1, true);
  }

  redeliver(webhookId: string): Promise<WebhookDelivery> {
    const message = this.messages.get(webhookId);
    if (!message) return Promise.reject(new Error(`No webhook message ${webhookId}`));
    const attempts = this.deliveries.filter((d) => d.webhookId === webhookId).length;
    return this.attempt(message, attempts + 1, false);
  }

  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  clear(): void {
    this.deliveries = [];
    this.messages.clear();
    this.delivered = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.agent.destroy();
    this.pending = 0;
    this.settle();
  }

  private async attempt(message: WebhookMessage, attempt: number, retry: boolean): Promise<WebhookDelivery> {
    this.pending++;
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': message.webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(message.secret, message.webhookId, timestamp, message.body),
    };
    const delivery: WebhookDelivery = {
      webhookId: message.webhookId,
      event: message.event,
      predictionId: message.predictionId,
      url: message.url,
      attempt,
      at: Date.now(),
      body: message.body,
      headers,
    };
    let retryable = true;
    try {
      const target = new URL(message.url);
      if (!isLocalHost(target.hostname)) {
        retryable = false;
        throw new Error('not sent: the emulator only delivers webhooks to this machine or a private network');
      }
      // user:password@ in the URL goes as basic credentials, as HTTP clients send it (undici refuses userinfo)
      if (target.username || target.password) {
        const credentials = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
        headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
        target.username = '';
        target.password = '';
      }
      const response = await request(target, {
        method: 'POST',
        headers,
        body: message.body,
        dispatcher: this.agent,
        headersTimeout: ATTEMPT_TIMEOUT_MS,
        bodyTimeout: ATTEMPT_TIMEOUT_MS,
      });
      await response.body.dump();
      delivery.status = response.statusCode;
    } catch (error) {
      delivery.error = error instanceof Error ? error.message : String(error);
    }
    this.deliveries.push(delivery);
    const ok = delivery.status !== undefined && delivery.status >= 200 && delivery.status < 300;
    if (ok) this.delivered++;
    const delay = this.retryDelaysMs[attempt - 1];
    if (!ok && retry && retryable && delay !== undefined && !this.closed) {
      this.pending++;
      const timer = this.timers.after(delay, () => {
        this.pending--;
        void this.attempt(message, attempt + 1, true);
      });
      if (!timer) this.pending--;
    }
    this.pending = Math.max(0, this.pending - 1);
    this.settle();
    return delivery;
  }

  private settle(): void {
    if (this.pending > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
