// Admin endpoints behind the edit dialogs: test a token, search models, list versions and
// deployments, read a model's input schema. A stored or environment token only ever goes to the
// API base URL of the deployed config node it belongs to: a dialog that changed the URL, or a
// config node not deployed yet, must send a token typed in that dialog, and anything but a
// deployed config node as it is needs the permission to change config nodes (read-only users
// could otherwise send every account's token to a server of their choice). No token is ever
// sent back to the browser.
import type { NodeAPI } from 'node-red';
import type { NextFunction, Request, Response } from 'express';
import type * as Core from './core';
import { core } from './lazy-core';
import { clientFor, configNodeOf } from './account-client';
import { say } from './flow-node';
import type { ReplicateConfigNode } from './node-types';

/** What the dialogs send about the config node: the token only when just typed. */
interface ConfigRef {
  id?: unknown;
  baseUrl?: unknown;
  token?: unknown;
}

const PASSWORD_PLACEHOLDER = '__PWRD__';
const CHANGE_PERMISSION = 'replicate-config.write';

/** An API base URL read from an environment variable: its value never appears in an answer. */
interface FromEnv {
  name: string;
  value: string;
}

/** How one request reaches Replicate, decided before anything is sent. */
type Access = { env?: FromEnv } & (
  | { use: 'deployed'; node: ReplicateConfigNode }
  | { use: 'typed'; baseUrl: unknown; token: string }
  | { use: 'refused'; message: Core.Sentence }
);

/** Whole-string `${VAR}` or `$(VAR)`, the forms Node-RED's runtime resolves in config properties. */
const ENV_REFERENCES = [/^\$\{(\S+)\}$/, /^\$\((\S+)\)$/];

/**
 * The dialog's base URL as the runtime reads it when it deploys the node (flows/util.js
 * mapEnvVarProperties): in the deployed node's flow and group scope when there is one.
 */
function dialogBaseUrl(
  RED: NodeAPI,
  raw: unknown,
  deployed: ReplicateConfigNode | undefined,
): { url: unknown; env?: FromEnv; unset?: string } {
  const name = typeof raw === 'string' ? ENV_REFERENCES.map((re) => re.exec(raw)?.[1]).find(Boolean) : undefined;
  if (!name) return { url: raw };
  const value: unknown = RED.util.getSetting(deployed ?? (null as never), name);
  if (value === undefined) return { url: raw, unset: name };
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return { url: text, env: { name, value: text } };
}

function decideAccess(RED: NodeAPI, ref: ConfigRef): Access {
  const { checkBaseUrl, sameBaseUrl } = core();
  const typed = typeof ref.token === 'string' && ref.token !== PASSWORD_PLACEHOLDER ? ref.token.trim() : '';
  const deployed = configNodeOf(RED, ref.id); // another node's credentials are never used
  const { url, env, unset } = dialogBaseUrl(RED, ref.baseUrl, deployed);
  if (unset) return { use: 'refused', message: { key: 'editor.envUnset', vars: { name: unset } } };
  if (!typed) {
    if (deployed && (url === undefined || sameBaseUrl(url, deployed.baseUrl))) return { use: 'deployed', node: deployed, env };
    return { use: 'refused', message: { key: deployed ? 'editor.retypeToken' : 'editor.typeToken' }, env };
  }
  if (env) {
    try {
      checkBaseUrl(env.value);
    } catch {
      return { use: 'refused', message: { key: 'editor.envUnusable', vars: { name: env.name } } };
    }
  }
  return { use: 'typed', baseUrl: url ?? deployed?.baseUrl, token: typed, env };
}

/** An answer about a URL from an environment variable names the variable, never its value. */
function withoutEnvValue(message: string, env: FromEnv | undefined): string {
  if (!env) return message;
  let url: URL | undefined;
  try {
    url = new URL(env.value.trim());
  } catch {
    url = undefined;
  }
  const shown = [env.value, env.value.trim(), url?.href, url?.origin, url?.host].filter((part): part is string => !!part?.trim());
  if (shown.length === 0) return message;
  const escaped = shown.sort((a, b) => b.length - a.length).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return message.replace(new RegExp(`(?<![\\w.-])(?:${escaped.join('|')})(?![\\w-])`, 'g'), () => `\${${env.name}}`);
}

function typedClient(access: Extract<Access, { use: 'typed' }>): Core.ReplicateClient {
  const { ConfigSettingsSchema, describeIssues, InputError } = core();
  const parsed = ConfigSettingsSchema.safeParse({ baseUrl: access.baseUrl, maxRetries: 1, timeout: 20 });
  if (!parsed.success) throw new InputError('node.problems', { problems: describeIssues(parsed.error) });
  return clientFor(parsed.data, access.token);
}

type Handler = (client: Core.ReplicateClient, body: Record<string, unknown>) => Promise<unknown>;

const ACCESS = 'replicateAccess';

function endpoint(RED: NodeAPI, path: string, permission: string, handler: Handler) {
  const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
  // Decide first, then let Node-RED's admin auth check what that decision needs.
  const authorize = (req: Request, res: Response, next: NextFunction) => {
    const body = bodyOf(req);
    const access = decideAccess(RED, body.config ?? body); // "test" sends the config fields alone
    res.locals[ACCESS] = access;
    RED.auth.needsPermission(access.use === 'deployed' ? permission : CHANGE_PERMISSION)(req, res, next);
  };
  RED.httpAdmin.post(`/replicate-config/${path}`, authorize, async (req: Request, res: Response) => {
    const access = res.locals[ACCESS] as Access;
    if (access.use === 'refused') return void res.json({ ok: false, message: say(RED, access.message) }); // nothing sent
    let temporary: Core.ReplicateClient | undefined;
    try {
      const client = access.use === 'deployed' ? access.node.client() : (temporary = typedClient(access));
      res.json({ ok: true, ...((await handler(client, bodyOf(req))) as object) });
    } catch (err) {
      res.json({ ok: false, message: withoutEnvValue(say(RED, err as Error), access.env) });
    } finally {
      await temporary?.close();
    }
  });
}

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');

export function registerEditorEndpoints(RED: NodeAPI): void {
  endpoint(RED, 'test', 'replicate-config.write', async (client) => {
    const account = await client.getAccount().catch((err: Core.ReplicateError) => {
      // a Replicate-like host answers 404 for /account when the base URL lacks the API's /v1
      if (err.code !== 'not-found' || /\/v1\/?$/.test(client.baseUrl.pathname)) throw err;
      const { InputError } = core();
      throw new InputError('editor.noApiVersionPath', { url: `${client.baseUrl.href.replace(/\/+$/, '')}/v1` });
    });
    return { account: { username: account.username, name: account.name ?? null, type: account.type } };
  });

  endpoint(RED, 'models', 'replicate-config.read', async (client, body) => {
    const { cursorFromNext, trainingFields } = core();
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
        // its latest version takes training inputs: a trainer for the create training node
        trainable: trainingFields(m.latest_version?.openapi_schema) !== undefined,
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
      deployments: page.results.map((d) => ({
        ref: `${d.owner}/${d.name}`,
        model: d.current_release?.model ?? null,
        version: d.current_release?.version ?? null,
      })),
    };
  });

  endpoint(RED, 'schema', 'replicate-config.read', async (client, body) => {
    const { modelInput, parseDeploymentRef, parseModelRef } = core();
    const target = text(body.deployment) ? parseDeploymentRef(text(body.deployment)) : parseModelRef(text(body.model));
    const input = await modelInput(client, target);
    return input ? { model: input.model, version: input.version ?? null, fields: input.fields } : { fields: null };
  });

  endpoint(RED, 'training-schema', 'replicate-config.read', async (client, body) => {
    const { resolveTrainer, trainingInputOf, trainingFileField, InputError } = core();
    const trainer = await resolveTrainer(client, text(body.trainer), { key: 'field.trainerSetting' });
    try {
      const schema = await trainingInputOf(client, trainer);
      return { model: schema.model, version: trainer.version, fields: schema.fields, fileField: trainingFileField(schema.fields) ?? null };
    } catch (err) {
      if (err instanceof InputError) return { fields: null }; // a version that cannot train
      throw err;
    }
  });

  endpoint(RED, 'hardware', 'replicate-config.read', async (client) => {
    const hardware = await client.listHardware();
    return { hardware: hardware.map((h) => ({ sku: h.sku, name: h.name })) };
  });
}
