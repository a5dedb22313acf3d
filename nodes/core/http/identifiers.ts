// Everything that ends up in a request path is checked here first, so no value from a message
// can steer the client to another endpoint ("../account", "x?y", "%2F", ...).
import { InputError } from './errors';
import type { Sentence, SentenceVar } from './sentences';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const VERSION_ID = /^[a-f0-9]{64}$/;
const PREDICTION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export type PredictionTarget =
  | { kind: 'version'; version: string; /** Known when given as owner/name:version. */ model?: { owner: string; name: string } }
  | { kind: 'model'; owner: string; name: string }
  | { kind: 'deployment'; owner: string; name: string };

/** "the model owner/name", for sentences about the thing a create asked for. */
export function describeTarget(target: PredictionTarget): Sentence {
  if (target.kind === 'version') return { key: 'what.targetVersion', vars: { version: target.version } };
  const ref = `${target.owner}/${target.name}`;
  return target.kind === 'model'
    ? { key: 'what.targetModel', vars: { model: ref } }
    : { key: 'what.targetDeployment', vars: { deployment: ref } };
}

function show(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    // JSON cannot show a BigInt, an object that contains itself or one nested too deeply
    text = typeof value === 'bigint' ? `${value}n` : Array.isArray(value) ? '[...]' : '{...}';
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Names a value in a sentence: `msg.model` as it is, or a sentence such as "the model setting". */
export type Field = SentenceVar;

/** A version id as Replicate writes them: 64 lower-case hex digits. */
export function isVersionId(value: unknown): value is string {
  return typeof value === 'string' && VERSION_ID.test(value);
}

export function checkVersionId(value: unknown, field: Field = { key: 'field.version' }): string {
  if (isVersionId(value)) return value;
  throw new InputError('check.versionId', { field, value: show(value) });
}

export function checkPredictionId(value: unknown, field: Field = { key: 'field.predictionId' }): string {
  if (typeof value === 'string' && PREDICTION_ID.test(value)) return value;
  if (value === undefined || value === null || value === '') throw new InputError('check.missing', { field });
  throw new InputError('check.predictionId', { field, value: show(value) });
}

/** `owner/name`, as used for models and deployments. */
export function parseOwnerName(value: unknown, field: Field): { owner: string; name: string } {
  if (typeof value === 'string') {
    const [owner, name, ...rest] = value.trim().split('/');
    if (owner && name && rest.length === 0 && NAME.test(owner) && NAME.test(name)) return { owner, name };
  }
  throw new InputError('check.ownerName', { field, value: show(value) });
}

/**
 * A model reference in any form Replicate accepts: `owner/name` (an official model),
 * `owner/name:<version id>` or a bare version id.
 */
export function parseModelRef(value: unknown, field: Field = { key: 'field.model' }): PredictionTarget {
  const known = typeof value === 'string' ? modelRefs.get(value) : undefined;
  if (known) return known;
  if (typeof value !== 'string' || value.trim() === '') throw new InputError('check.missing', { field });
  const ref = value.trim();
  if (VERSION_ID.test(ref)) return remember(modelRefs, value, { kind: 'version', version: ref });
  const colon = ref.indexOf(':');
  if (colon >= 0) {
    const model = parseOwnerName(ref.slice(0, colon), field);
    return remember(modelRefs, value, {
      kind: 'version',
      version: checkVersionId(ref.slice(colon + 1), { key: 'field.versionOf', vars: { field } }),
      model,
    });
  }
  return remember(modelRefs, value, { kind: 'model', ...parseOwnerName(ref, field) });
}

export function parseDeploymentRef(value: unknown, field: Field = { key: 'field.deployment' }): PredictionTarget {
  const known = typeof value === 'string' ? deploymentRefs.get(value) : undefined;
  return known ?? remember(deploymentRefs, value as string, { kind: 'deployment', ...parseOwnerName(value, field) });
}

// Targets parsed before, by the text they came from: a node parses its model for every message,
// and every create waiting its turn would hold a copy.
const modelRefs = new Map<string, PredictionTarget>();
const deploymentRefs = new Map<string, PredictionTarget>();

function remember(refs: Map<string, PredictionTarget>, text: string, target: PredictionTarget): PredictionTarget {
  if (refs.size >= 100) refs.clear(); // messages may name any number of models
  refs.set(text, Object.freeze(target));
  return target;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** This machine, as a URL's hostname names it. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/**
 * The API base URL of a config node. The token travels with every request, so plain http is
 * accepted only on this machine (the local emulator); anything else must be https.
 */
export function checkBaseUrl(value: unknown, field: Field = { key: 'field.baseUrl' }): URL {
  let url: URL;
  try {
    url = new URL(typeof value === 'string' ? value.trim() : '');
  } catch {
    throw new InputError('check.notUrl', { field, value: show(value) });
  }
  if (url.username || url.password || url.search || url.hash) throw new InputError('check.urlExtras', { field });
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return url;
  throw new InputError('check.notHttps', { field });
}

/**
 * Whether two API base URLs send requests to the same place: scheme and host in any case, the
 * default port written or not, a trailing slash or not. A URL the client would refuse matches nothing.
 */
export function sameBaseUrl(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): string | undefined => {
    try {
      const url = checkBaseUrl(value);
      return url.origin + url.pathname.replace(/\/+$/, '');
    } catch {
      return undefined;
    }
  };
  const left = canonical(a);
  return left !== undefined && left === canonical(b);
}
