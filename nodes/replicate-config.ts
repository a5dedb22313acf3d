// Config node: one Replicate account (token, API base URL, limits). Each config node owns its
// own client, so an agency's clients never share a token, a queue or a rate limit.
import type { NodeAPI, NodeDef } from 'node-red';
import type { Request, Response } from 'express';
import type * as Core from './core';
import type { ReplicateConfigNode, ReplicateCredentials } from './node-types';

const core = (): typeof Core => require('./core');

/** What the editor's "Test connection" button sends; the token only when just typed. */
interface TestRequest {
  id?: string;
  baseUrl?: string;
  token?: string;
}

const PASSWORD_PLACEHOLDER = '__PWRD__';

function tokenFrom(credentials: ReplicateCredentials | undefined): string | undefined {
  return credentials?.token?.trim() || process.env.REPLICATE_API_TOKEN?.trim() || undefined;
}

function clientFor(settings: Core.ConfigSettings, token: string | undefined): Core.ReplicateClient {
  const { InputError, ReplicateClient } = core();
  if (!token) {
    throw new InputError(
      'No Replicate API token: enter one in the Replicate config node or set the REPLICATE_API_TOKEN environment variable',
    );
  }
  return new ReplicateClient({
    baseUrl: settings.baseUrl,
    token,
    timeoutMs: settings.timeout * 1000,
    maxConcurrency: settings.concurrency,
    createsPerMinute: settings.createRateLimit,
    requestsPerMinute: settings.requestRateLimit,
    retry: { maxRetries: settings.maxRetries },
  });
}

export = (RED: NodeAPI) => {
  function ReplicateConfig(this: ReplicateConfigNode, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const { ConfigSettingsSchema, describeIssues, InputError } = core();
    const parsed = ConfigSettingsSchema.safeParse(def);
    const problem = parsed.success ? undefined : new InputError(`Replicate config: ${describeIssues(parsed.error)}`);
    if (problem) this.error(problem.message);
    const settings = parsed.success ? parsed.data : undefined;
    let client: Core.ReplicateClient | undefined;

    this.baseUrl = settings?.baseUrl ?? '';
    this.webhookBaseUrl = settings?.webhookBaseUrl ?? '';
    this.client = () => {
      if (!settings) throw problem;
      client ??= clientFor(settings, tokenFrom(this.credentials));
      return client;
    };
    let signingSecret: Core.WebhookSecretSource | undefined;
    this.signingSecret = () =>
      (signingSecret ??= new (core().WebhookSecretSource)(
        () => this.client().getDefaultWebhookSecret(),
        this.credentials?.webhookSecret?.trim() || undefined,
      ));

    this.on('close', (done: () => void) => {
      const closing = client?.close();
      client = undefined;
      void Promise.resolve(closing).then(done, done);
    });
  }

  RED.nodes.registerType<ReplicateConfigNode, NodeDef & Record<string, unknown>, unknown, ReplicateCredentials>('replicate-config', ReplicateConfig, {
    credentials: {
      token: { type: 'password' },
      webhookSecret: { type: 'password' },
    },
  });

  // "Test connection": asks Replicate who the token belongs to. The token comes from the
  // browser only when just typed; a stored one stays on the server, and none is sent back.
  RED.httpAdmin.post(
    '/replicate-config/test',
    RED.auth.needsPermission('replicate-config.write'),
    async (req: Request, res: Response) => {
      const body = (req.body ?? {}) as TestRequest;
      const typed = typeof body.token === 'string' && body.token !== PASSWORD_PLACEHOLDER ? body.token.trim() : '';
      const stored = body.id ? (RED.nodes.getCredentials(body.id) as ReplicateCredentials | undefined) : undefined;
      const token = typed || tokenFrom(stored);
      let client: Core.ReplicateClient | undefined;
      try {
        const { ConfigSettingsSchema, describeIssues, InputError } = core();
        const parsed = ConfigSettingsSchema.safeParse({ baseUrl: body.baseUrl, maxRetries: 0, timeout: 15 });
        if (!parsed.success) throw new InputError(describeIssues(parsed.error));
        client = clientFor(parsed.data, token);
        const account = await client.getAccount();
        res.json({ ok: true, account: { username: account.username, name: account.name ?? null, type: account.type } });
      } catch (err) {
        res.json({ ok: false, message: (err as Error).message });
      } finally {
        await client?.close();
      }
    },
  );
};
