// Config node: one Replicate account (token, API base URL, limits). Each config node owns its
// own client, so an agency's clients never share a token, a queue or a rate limit.
import type { NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { clientFor, tokenFrom } from './account-client';
import { registerEditorEndpoints } from './editor-endpoints';
import type { ReplicateConfigNode, ReplicateCredentials } from './node-types';


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

  registerEditorEndpoints(RED);
};
