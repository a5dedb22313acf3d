// Config node: one Replicate account (token, API base URL, limits). Each config node owns its
// own client, so an agency's clients never share a token, a queue or a rate limit.
import type { NodeAPI, NodeDef } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { clientFor, tokenFrom } from './account-client';
import { registerEditorEndpoints } from './editor-endpoints';
import { say } from './flow-node';
import type { ReplicateConfigNode, ReplicateCredentials } from './node-types';

/** The settings, or what keeps them from working, checked at deploy; a bad base URL has a status of its own. */
function readConfig(
  def: Record<string, unknown>,
): { settings: Core.ConfigSettings; problem?: undefined } | { settings?: undefined; problem: Core.InputError } {
  const { ConfigSettingsSchema, checkBaseUrl, describeIssues, errorVar, InputError } = core();
  const parsed = ConfigSettingsSchema.safeParse(def);
  const problems = parsed.success ? [] : describeIssues(parsed.error);
  const baseUrl = ConfigSettingsSchema.shape.baseUrl.safeParse(def.baseUrl);
  let badBaseUrl = false;
  try {
    checkBaseUrl(baseUrl.data);
  } catch (err) {
    badBaseUrl = true;
    problems.push(errorVar(err));
  }
  if (parsed.success && !badBaseUrl) return { settings: parsed.data };
  return { problem: new InputError('node.invalidConfig', { problems }, badBaseUrl ? 'bad-base-url' : 'bad-config') };
}

export = (RED: NodeAPI) => {
  function ReplicateConfig(this: ReplicateConfigNode, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const { settings, problem } = readConfig(def);
    if (problem) this.error(say(RED, problem));
    let client: Core.ReplicateClient | undefined;
    let files: Core.FileFetcher | undefined;
    let streamLimits: Core.StreamLimits | undefined;

    this.baseUrl = settings?.baseUrl ?? '';
    this.webhookBaseUrl = settings?.webhookBaseUrl ?? '';
    this.inlineFileLimit = settings ? Math.round(settings.inlineFileLimit * 1024) : 0;
    this.keepWaits = settings?.keepWaits ?? false;
    this.waitStore = settings?.waitStore || undefined;
    this.files = () => {
      if (!settings) throw problem;
      files ??= new (core().FileFetcher)({
        apiBaseUrl: core().checkBaseUrl(settings.baseUrl),
        alsoDownloadFrom: settings.downloadHosts,
        maxBytes: Math.round(settings.maxDownload * 1_000_000),
        timeoutMs: settings.timeout * 1000,
        maxRetries: settings.maxRetries,
      });
      return files;
    };
    this.streamLimits = () => {
      if (!settings) throw problem;
      streamLimits ??= {
        hosts: new (core().StreamHosts)(core().checkBaseUrl(settings.baseUrl), settings.downloadHosts),
        maxBytes: Math.round(settings.maxDownload * 1_000_000),
      };
      return streamLimits;
    };
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
      const closing = Promise.all([client?.close(), files?.close()]);
      client = undefined;
      files = undefined;
      void closing.then(() => done(), done);
    });
  }

  RED.nodes.registerType<ReplicateConfigNode, NodeDef & Record<string, unknown>, unknown, ReplicateCredentials>(
    'replicate-config',
    ReplicateConfig,
    {
      credentials: {
        token: { type: 'password' },
        webhookSecret: { type: 'password' },
      },
    },
  );

  registerEditorEndpoints(RED);
};
