// Admin endpoints behind the edit dialogs: test a token, search models, list versions and
// deployments, read a model's input schema. They use the config node being edited (its token
// just typed, or the one stored on the server) and never send a token back to the browser.
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import type * as Core from './core';
import { core } from './lazy-core';
import { clientFor, tokenFrom } from './account-client';
import type { ReplicateConfigNode, ReplicateCredentials } from './node-types';


/** What the dialogs send about the config node: the token only when just typed. */
interface ConfigRef {
  id?: string;
  baseUrl?: string;
  token?: string;
}

const PASSWORD_PLACEHOLDER = '__PWRD__';

/** The deployed config node's client when nothing was changed, else a short-lived one. */
function editorClient(RED: NodeAPI, ref: ConfigRef): { client: Core.ReplicateClient; temporary: boolean } {
  const { ConfigSettingsSchema, describeIssues, InputError } = core();
  const typed = typeof ref.token === 'string' && ref.token !== PASSWORD_PLACEHOLDER ? ref.token.trim() : '';
  const deployed = ref.id ? (RED.nodes.getNode(ref.id) as ReplicateConfigNode | null) : null;
  if (!typed && deployed?.type === 'replicate-config' && deployed.baseUrl === (ref.baseUrl ?? deployed.baseUrl)) {
    return { client: deployed.client(), temporary: false };
  }
  const parsed = ConfigSettingsSchema.safeParse({ baseUrl: ref.baseUrl, maxRetries: 1, timeout: 20 });
  if (!parsed.success) throw new InputError(describeIssues(parsed.error));
  const stored = ref.id ? (RED.nodes.getCredentials(ref.id) as ReplicateCredentials | undefined) : undefined;
  return { client: clientFor(parsed.data, typed || tokenFrom(stored)), temporary: true };
}

type Handler = (client: Core.ReplicateClient, body: Record<string, unknown>) => Promise<unknown>;

function endpoint(RED: NodeAPI, path: string, permission: string, handler: Handler) {
  RED.httpAdmin.post(`/replicate-config/${path}`, RED.auth.needsPermission(permission), async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    let opened: { client: Core.ReplicateClient; temporary: boolean } | undefined;
    try {
      opened = editorClient(RED, (body.config ?? body) as ConfigRef); // "test" sends the config fields alone
      res.json({ ok: true, ...((await handler(opened.client, body)) as object) });
    } catch (err) {
      res.json({ ok: false, message: (err as Error).message });
    } finally {
      if (opened?.temporary) await opened.client.close();
    }
  });
}

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');

export function registerEditorEndpoints(RED: NodeAPI): void {
  endpoint(RED, 'test', 'replicate-config.write', async (client) => {
    const account = await client.getAccount();
    return { account: { username: account.username, name: account.name ?? null, type: account.type } };
  });

  endpoint(RED, 'models', 'replicate-config.read', async (client, body) => {
    const { cursorFromNext } = core();
    const query = text(body.query);
    const cursor = text(body.cursor) || undefined;
    const page = query ? await client.searchModels(query, { cursor }) : await client.listModels({ cursor });
    return {
      models: page.results.map((m) => ({
        ref: `${m.owner}/${m.name}`,
        description: m.description ?? '',
        official: m.is_official ?? false,
        runs: m.run_count ?? null,
        latestVersion: m.latest_version?.id ?? null,
      })),
      next: cursorFromNext(page.next) ?? null,
    };
  });

  endpoint(RED, 'versions', 'replicate-config.read', async (client, body) => {
    const page = await client.listModelVersions(text(body.model));
    return { versions: page.results.map((v) => ({ id: v.id, created_at: v.created_at ?? null })) };
  });

  endpoint(RED, 'deployments', 'replicate-config.read', async (client) => {
    const page = await client.listDeployments();
    return {
      deployments: page.results.map((d) => ({ ref: `${d.owner}/${d.name}`, model: d.current_release?.model ?? null, version: d.current_release?.version ?? null })),
    };
  });

  endpoint(RED, 'schema', 'replicate-config.read', async (client, body) => {
    const { inputTemplate, modelInput, parseDeploymentRef, parseModelRef } = core();
    const target = text(body.deployment) ? parseDeploymentRef(text(body.deployment)) : parseModelRef(text(body.model));
    const input = await modelInput(client, target);
    return input ? { model: input.model, version: input.version ?? null, fields: input.fields, template: inputTemplate(input.fields) } : { fields: null };
  });
}
