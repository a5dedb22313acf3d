// One webhook delivery from Replicate, judged: is it authentic (signature, shared secret or
// both), is it a prediction, and has it been seen before? The node answers with the verdict's
// status and emits only what is accepted and new.
import { CORRELATION_KEY } from './correlation-store';
import { isTerminal, PredictionSchema, SentenceError, type Prediction } from '../http';
import { sharedSecretPresented } from './shared-secret';
import { verifySignature, type SignatureVerdict } from './signature';
import type { WebhookSecretSource } from './secret-source';

export type WebhookAuth = 'signature' | 'secret' | 'both';

/** Bodies beyond this are refused with 413: a prediction with long logs stays far below it. */
export const MAX_WEBHOOK_BODY_BYTES = 5 * 1024 * 1024;

/**
 * How long a delivery may take from its first byte to arrive and be verified (a signing-secret
 * fetch included) before it is answered anyway, so nobody can hold a connection open by sending
 * slowly. settings.js `replicatePredictionCompletedTimeout` (ms) sets another.
 */
export const DELIVERY_DEADLINE_MS = 30_000;

export interface ReceiverOptions {
  auth: WebhookAuth;
  /** Where the signing secret comes from (signature and both). */
  signingSecret?: WebhookSecretSource;
  /** The secret expected in the URL (secret and both). */
  sharedSecret?: string;
  /** Deliveries and finished predictions seen before a restart, and where new ones are noted (a persistent store). */
  seen?: SeenBefore;
}

export interface SeenBefore {
  has(kind: 'delivery' | 'prediction', id: string): boolean;
  add(kind: 'delivery' | 'prediction', id: string): void;
}

export interface IncomingDelivery {
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  body: Buffer;
}

export interface AcceptedDelivery {
  status: 200;
  prediction: Prediction;
  webhook: { id: string | null; timestamp: number | null };
  /** The key the create node put in the URL to find the original message again. */
  correlation?: string;
  /** Seen before (same webhook-id), or the prediction was already reported finished. */
  repeat: boolean;
}

export interface RejectedDelivery {
  status: 400 | 401 | 503;
  reason: 'signature' | 'stale' | 'secret' | 'json' | 'not-a-prediction' | 'secret-unavailable';
}

export type DeliveryVerdict = AcceptedDelivery | RejectedDelivery;

function header(headers: IncomingDelivery['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(' ') : value;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

// A bounded memory of ids seen lately (webhook deliveries, predictions already reported), so a
// repeated or reordered delivery is acknowledged without being emitted twice.
class RecentIds {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxSize = 20_000,
    private readonly ttlMs = 24 * 60 * 60 * 1000,
  ) {}

  has(id: string, now = Date.now()): boolean {
    const expires = this.seen.get(id);
    if (expires === undefined) return false;
    if (expires > now) return true;
    this.seen.delete(id);
    return false;
  }

  add(id: string, now = Date.now()): void {
    this.seen.delete(id); // re-inserted at the end: Map order is age order
    this.seen.set(id, now + this.ttlMs);
    while (this.seen.size > this.maxSize) this.seen.delete(this.seen.keys().next().value as string);
  }

  get size(): number {
    return this.seen.size;
  }
}

export class WebhookReceiver {
  private readonly deliveries = new RecentIds();
  private readonly finished = new RecentIds();

  constructor(private readonly options: ReceiverOptions) {
    if (options.auth !== 'secret' && !options.signingSecret) throw new SentenceError('completed.signingSecretNeeded');
  }

  async receive(delivery: IncomingDelivery): Promise<DeliveryVerdict> {
    const { auth } = this.options;
    const correlation = text(delivery.query.correlation);
    if (auth !== 'signature') {
      const presented = { authorization: header(delivery.headers, 'authorization'), token: text(delivery.query.token), correlation };
      if (!sharedSecretPresented(presented, this.options.sharedSecret ?? '')) return { status: 401, reason: 'secret' };
    }
    const signed = {
      id: header(delivery.headers, 'webhook-id'),
      timestamp: header(delivery.headers, 'webhook-timestamp'),
      signature: header(delivery.headers, 'webhook-signature'),
    };
    if (auth !== 'secret') {
      const verdict = await this.checkSignature(signed, delivery.body);
      if (verdict === 'unavailable') return { status: 503, reason: 'secret-unavailable' };
      if (verdict !== 'valid') return { status: 401, reason: verdict === 'stale' ? 'stale' : 'signature' };
    }

    let json: unknown;
    try {
      json = JSON.parse(delivery.body.toString('utf8'));
    } catch {
      return { status: 400, reason: 'json' };
    }
    if (!PredictionSchema.safeParse(json).success) return { status: 400, reason: 'not-a-prediction' };
    const prediction = json as Prediction; // as Replicate sent it, unknown fields and all

    // Checked and marked with no await in between: two copies arriving together count as one.
    const { seen } = this.options;
    const repeat =
      (signed.id !== undefined && (this.deliveries.has(signed.id) || !!seen?.has('delivery', signed.id))) ||
      this.finished.has(prediction.id) ||
      !!seen?.has('prediction', prediction.id);
    if (signed.id !== undefined) {
      this.deliveries.add(signed.id);
      seen?.add('delivery', signed.id);
    }
    if (isTerminal(prediction.status)) {
      this.finished.add(prediction.id);
      seen?.add('prediction', prediction.id);
    }
    const timestamp = Number(signed.timestamp);
    return {
      status: 200,
      prediction,
      webhook: { id: signed.id ?? null, timestamp: Number.isFinite(timestamp) && signed.timestamp ? timestamp : null },
      correlation: correlation && CORRELATION_KEY.test(correlation) ? correlation : undefined,
      repeat,
    };
  }

  private async checkSignature(signed: Parameters<typeof verifySignature>[0], body: Buffer): Promise<SignatureVerdict | 'unavailable'> {
    if (!signed.id || !signed.timestamp || !signed.signature) return 'missing';
    const source = this.options.signingSecret!;
    let secret: string;
    try {
      secret = await source.current();
    } catch {
      return 'unavailable';
    }
    const verdict = verifySignature(signed, body, secret);
    if (verdict !== 'mismatch') return verdict;
    // The secret may have been rotated since it was fetched.
    const fresh = await source.refresh().catch(() => undefined);
    return fresh && fresh !== secret ? verifySignature(signed, body, fresh) : verdict;
  }
}
