// Prediction completed: the HTTP endpoint Replicate posts webhooks to. It answers as soon as a
// delivery is verified, then emits each finished prediction once, with the properties of the
// message that started it restored when a create node of this Node-RED started it.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import type * as Core from './core';
import { configNodeOf } from './account-client';
import { core } from './lazy-core';
import { localized, say, statusLine, withFinishedPrediction, type Msg } from './flow-node';
import { withTraining } from './training-message';
import { clearPreview, previewAccount, showPreview } from './image-preview';
import { outputMessages } from './output-files';
import { claimPostRoute, httpNodeRoot, postRouteTaken, routeBody, timeLeft } from './http-route';
import type { PredictionCompletedNode } from './node-types';

interface PredictionCompletedCredentials {
  sharedSecret?: string;
}

type ThisNode = PredictionCompletedNode & Node<PredictionCompletedCredentials>;

const SWEEP_EVERY_MS = 60 * 60 * 1000;

/** The deadline of each delivery: settings.js `replicatePredictionCompletedTimeout` (ms), else the core's 30 s. */
function deliveryDeadlineMs(RED: NodeAPI): number {
  const configured = (RED.settings as { replicatePredictionCompletedTimeout?: unknown }).replicatePredictionCompletedTimeout;
  return typeof configured === 'number' && configured > 0 ? configured : core().DELIVERY_DEADLINE_MS;
}

/** Why a delivery was refused: what the sender reads (enough to fix a setup, nothing about the secret) and the status key. */
const REJECTION: Record<Core.RejectedDelivery['reason'], { answer: Core.SentenceKey; status: string }> = {
  signature: { answer: 'answer.badSignature', status: 'badSignature' },
  stale: { answer: 'answer.stale', status: 'staleDelivery' },
  secret: { answer: 'answer.badSecret', status: 'badSecret' },
  json: { answer: 'answer.notJson', status: 'badJson' },
  'not-a-prediction': { answer: 'answer.notPrediction', status: 'badJson' },
  'secret-unavailable': { answer: 'answer.secretUnavailable', status: 'noSigningSecret' },
};

/** The answer to an accepted delivery, written as it is: thousands a second, without express's ETag and content-type work. */
const ACCEPTED = Buffer.from('{"ok":true}');
const ACCEPTED_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(ACCEPTED.length) };

/** A delivery still open at its deadline, by what it was waiting for. */
const LATE = {
  body: { code: 408, answer: 'answer.bodyLate' },
  verify: { code: 503, answer: 'answer.verifyLate' },
} as const;

export = (RED: NodeAPI) => {
  function PredictionCompleted(this: ThisNode, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const node = this;
    const c = core();
    let closed = false;
    const status = statusLine(RED, node);
    const { show } = status;
    const fail = (problem: Core.Sentence, statusKey: string) => {
      node.error(say(RED, problem));
      show('red', statusKey, undefined, 'ring');
      node.webhookFor = () => Promise.reject(new c.InputError(problem.key, problem.vars));
    };

    const parsed = c.PredictionCompletedSettingsSchema.safeParse(def);
    if (!parsed.success)
      return fail({ key: 'node.invalidSettings', vars: { problems: c.describeIssues(parsed.error) } }, 'invalidSettings');
    const s = parsed.data;
    const config = configNodeOf(RED, def.replicate);
    const sharedSecret = node.credentials?.sharedSecret?.trim() ?? '';
    if (s.auth !== 'secret' && !config) {
      return fail({ key: 'completed.noConfig' }, 'noConfig');
    }
    if (s.auth !== 'signature' && !sharedSecret) {
      return fail({ key: 'node.invalidSettings', vars: { problems: [{ key: 'settings.sharedSecret' }] } }, 'invalidSettings');
    }
    if (postRouteTaken(RED, s.url)) return fail({ key: 'completed.pathInUse', vars: { path: s.url } }, 'pathInUse');

    // With the account's Keep waits across restarts, a delivery repeated after a restart is still a repeat.
    const seenStore = config?.keepWaits ? new c.SeenStore(node.context(), config.waitStore) : undefined;
    const seenLoaded = seenStore?.load().catch((err: Error) => {
      node.warn(say(RED, { key: 'completed.deliveriesUnreadable', vars: { error: c.errorVar(err) } }));
    });
    const seen: Core.SeenBefore | undefined = seenStore && {
      has: (kind, id) => seenStore.has(kind, id),
      add: (kind, id) => void seenStore.add(kind, id).catch(() => undefined),
    };
    const receiver = new c.WebhookReceiver({ auth: s.auth, signingSecret: config?.signingSecret(), sharedSecret, seen });
    const filter: Core.DeliveryFilter = { outcomes: s.outcomes, models: s.models };
    const fields = c.parseFieldList(s.correlate);
    const correlations = new c.CorrelationStore(node.context().global, s.store || undefined, s.expiry * 3600_000);
    let received = 0;
    /** Ends downloads of output files when the node closes. */
    const abort = new AbortController();
    const filesOf = (): Core.FileFetcher => {
      if (!config) throw new c.InputError('completed.noConfig');
      return config.files();
    };

    node.webhookFor = async (msg) => {
      const correlation = c.newCorrelationKey();
      const url = c.webhookUrl({
        publicUrl: config?.webhookBaseUrl ?? '',
        nodeRoot: httpNodeRoot(RED),
        path: s.url,
        correlation,
        sharedSecret: s.auth === 'signature' ? undefined : sharedSecret,
      });
      const kept = c.pickFields(msg, fields);
      if (Object.keys(kept).length > 0) await correlations.remember(correlation, kept);
      return { url, forget: () => correlations.forget(correlation) };
    };

    /** The account's client, to look up whether a list of strings is one text (msg.text); none when it cannot work. */
    const textClient = (): Core.ReplicateClient | undefined => {
      try {
        return config?.client();
      } catch {
        return undefined;
      }
    };

    const emit = async (verdict: Core.AcceptedDelivery) => {
      const route = c.routeDelivery(verdict.prediction, filter);
      if (route === 'skip' || (route === 'progress' && !s.progress)) return;
      // a training's delivery: msg.trainingId and msg.version, and no output files (its weights are no result to fetch)
      const training = c.isTraining(verdict.prediction);
      const msg = training
        ? withTraining({ _msgid: RED.util.generateId() }, verdict.prediction)
        : await withFinishedPrediction({ _msgid: RED.util.generateId() }, verdict.prediction, textClient());
      msg.webhook = verdict.webhook;
      if (route === 'result' && verdict.correlation) {
        const kept = await correlations.recall(verdict.correlation).catch((err: Error) => {
          node.warn(say(RED, { key: 'completed.keptUnreadable', vars: { id: verdict.prediction.id, error: c.errorVar(err) } }));
          return undefined;
        });
        if (kept) c.restoreFields(msg, kept);
      }
      let out: Msg[] = [msg];
      if (route === 'result' && s.outputFiles !== 'url' && !training && !closed) {
        try {
          out = await outputMessages(s.outputFiles, () => filesOf(), msg, verdict.prediction, {
            signal: abort.signal,
            onPercent: (percent) => show('blue', 'downloading', { percent }, 'ring'),
          });
        } catch (err) {
          if (closed) return;
          show('red', 'error', undefined, 'ring');
          node.error(localized(RED, err as Error), msg);
          return;
        }
      }
      if (closed) return;
      if (route === 'result') {
        received++;
        const fill = verdict.prediction.status === 'succeeded' ? 'green' : verdict.prediction.status === 'failed' ? 'red' : 'grey';
        show(fill, 'received', { status: verdict.prediction.status, total: received });
        showPreview(RED, node, s, verdict.prediction, () => previewAccount(config));
      }
      // (Node-RED sends each message of an array given for an output)
      node.send(s.progress ? (route === 'result' ? [out, null] : [null, out]) : [out]);
    };

    /** Deliveries not yet answered, each with what answers it when the node closes. */
    const open = new Set<() => void>();

    const limits = { maxBodyBytes: c.MAX_WEBHOOK_BODY_BYTES, deadlineMs: deliveryDeadlineMs(RED) };
    const release = claimPostRoute(RED, s.url, limits, (req: Request, res: Response) => {
      const refuse = (code: number, answer: Core.Sentence, statusKey?: string, fill: 'red' | 'yellow' = 'red') => {
        if (res.headersSent) return;
        res.status(code).type('text/plain').send(say(RED, answer));
        if (statusKey) show(fill, statusKey, undefined, 'ring');
      };
      /** Answered before the delivery was read or verified: the socket closes, even if a body is still arriving. */
      const cutShort = (code: number, answer: Core.Sentence, statusKey?: string) => {
        if (res.headersSent) return;
        res.set('Connection', 'close');
        refuse(code, answer, statusKey, 'yellow');
      };
      let waitingFor: keyof typeof LATE = 'body';
      // counted from the first byte (the raw-body capture), not from when httpNodeAuth let the request through
      const deadline = setTimeout(
        () => cutShort(LATE[waitingFor].code, { key: LATE[waitingFor].answer }, 'timedOut'),
        timeLeft(req, limits.deadlineMs),
      );
      const finish = () => {
        clearTimeout(deadline);
        open.delete(stop);
      };
      const stop = () => {
        finish();
        cutShort(503, { key: 'answer.stopped' });
      };
      open.add(stop);

      void (async () => {
        let body: Buffer;
        try {
          body = await routeBody(req, limits.maxBodyBytes);
        } catch (err) {
          if (err instanceof c.BodyLateError) return cutShort(LATE.body.code, err, 'timedOut');
          if (err instanceof c.BodyTooLargeError) return refuse(413, err, 'tooLarge');
          if (err instanceof c.BodyAlreadyReadError) return refuse(400, err, 'bodyAlreadyRead');
          return refuse(400, { key: 'answer.unreadable' }, 'badJson');
        }
        waitingFor = 'verify';
        await seenLoaded;
        const verdict = await receiver.receive({ headers: req.headers, query: req.query ?? {}, body });
        if (verdict.status !== 200) {
          const rejection = REJECTION[verdict.reason];
          return refuse(verdict.status, { key: rejection.answer }, rejection.status, verdict.status === 503 ? 'yellow' : 'red');
        }
        // Verified after the deadline answered 503: emitted all the same, and Replicate's next copy is acknowledged as a repeat.
        if (!res.headersSent) res.writeHead(200, ACCEPTED_HEADERS).end(ACCEPTED);
        finish();
        if (!verdict.repeat && !closed) await emit(verdict);
      })()
        .catch((err: Error) => {
          node.error(say(RED, { key: 'completed.deliveryFailed', vars: { error: c.errorVar(err) } }));
          refuse(500, { key: 'answer.failed' });
        })
        .finally(finish);
    });

    const sweep = () => void correlations.sweep().catch(() => undefined);
    sweep();
    const sweeper = setInterval(sweep, SWEEP_EVERY_MS);
    sweeper.unref();
    show('grey', 'listening', undefined, 'ring');

    node.on('close', (done: () => void) => {
      closed = true;
      abort.abort();
      clearInterval(sweeper);
      release();
      for (const stop of [...open]) stop();
      clearPreview(RED, node);
      status.stop();
      done();
    });
  }

  RED.nodes.registerType<ThisNode, NodeDef & Record<string, unknown>, unknown, PredictionCompletedCredentials>(
    'replicate-prediction-completed',
    PredictionCompleted,
    {
      credentials: {
        sharedSecret: { type: 'password' },
      },
    },
  );
};
