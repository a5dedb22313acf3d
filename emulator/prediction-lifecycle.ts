// What happens to a prediction over time that someone outside can observe: webhooks at each
// event, Prefer: wait responses released at the end, and ends forced by cancel or finish().
import { endNow, isTerminal, midpoint, snapshot, type PredictionRecord } from './predictions';
import { WEBHOOK_EVENTS } from './create-request';
import type { Timers } from './timers';
import type { WebhookSender } from './webhooks';
import type { PredictionOutcome, WebhookEvent } from './types';

export class PredictionLifecycle {
  constructor(
    private readonly timers: Timers,
    private readonly webhooks: WebhookSender,
    private readonly webhookSecretOf: (owner: string) => string,
    /** The body of its webhooks (a training's view for trainings). */
    private readonly view: (p: PredictionRecord, at: number) => Record<string, unknown> = snapshot,
  ) {}

  /** Sends `start` and schedules the other webhooks of a new prediction. */
  created(p: PredictionRecord): void {
    if (p.webhook === undefined) return;
    this.notify(p, 'start', p.createdAt);
    if (p.end.at > p.startAt) this.schedule(p, 'logs', p.startAt);
    if (p.eventualOutput !== null && midpoint(p) < p.end.at) this.schedule(p, 'output', midpoint(p));
    this.schedule(p, 'completed', p.end.at);
  }

  /** Resolves when the prediction has ended or maxMs have passed (or the emulator closes). */
  async waitForEnd(p: PredictionRecord, maxMs: number): Promise<void> {
    const giveUpAt = Date.now() + maxMs;
    while (!this.timers.stopped && !isTerminal(p, Date.now()) && Date.now() < giveUpAt) {
      // +1: a timer may fire a millisecond before Date.now() reaches its target.
      const sleep = this.timers.sleep(Math.min(p.end.at, giveUpAt) - Date.now() + 1);
      p.waiters.add(sleep.wake);
      await sleep.done;
      p.waiters.delete(sleep.wake);
    }
  }

  /** Ends a running prediction now; false when it had already ended. */
  forceEnd(p: PredictionRecord, outcome: PredictionOutcome, now: number): boolean {
    if (isTerminal(p, now)) return false;
    p.end = endNow(p, now, outcome);
    this.release(p);
    if (p.webhook !== undefined) this.notify(p, 'completed', now);
    return true;
  }

  /** Cancels the prediction's timers and releases its waiters, e.g. when it is forgotten. */
  release(p: PredictionRecord): void {
    for (const timer of p.timers) this.timers.cancel(timer);
    p.timers = [];
    for (const wake of [...p.waiters]) wake();
  }

  private schedule(p: PredictionRecord, event: WebhookEvent, at: number): void {
    if (!this.wants(p, event)) return;
    const timer = this.timers.after(at - Date.now(), () => {
      p.timers = p.timers.filter((t) => t !== timer);
      this.notify(p, event, Math.max(Date.now(), at));
    });
    if (timer) p.timers.push(timer);
  }

  private notify(p: PredictionRecord, event: WebhookEvent, at: number): void {
    if (p.webhook === undefined || !this.wants(p, event)) return;
    this.webhooks.send({
      event,
      predictionId: p.id,
      url: p.webhook,
      body: JSON.stringify(this.view(p, at)),
      secret: this.webhookSecretOf(p.owner),
    });
  }

  private wants(p: PredictionRecord, event: WebhookEvent): boolean {
    return (p.webhookEventsFilter ?? WEBHOOK_EVENTS).includes(event);
  }
}
