// Which input a prediction target takes: the OpenAPI schema of the version it will run, looked
// up once per account and target and kept for a while (schemas change only with new versions).
import { inputFields, type InputField } from './input-schema';
import { outputConcatenates } from './output-text';
import { AbortListeners, abortedError, type CallOptions, type PredictionTarget, type ReplicateClient, type RetryEvent } from '../http';

export interface ModelInput {
  /** `owner/name` of the model, for messages. */
  model: string;
  /** The version whose schema this is, when known. */
  version?: string;
  fields: InputField[];
  /** Its output is a list of strings shown joined (a language model's tokens). */
  concatenates?: boolean;
}

const CACHE_MS = 10 * 60 * 1000;

interface Lookup {
  expires: number;
  input: Promise<ModelInput | undefined>;
  /** The answer once there is one: later callers take it without waiting on anything. */
  answer?: { input: ModelInput | undefined };
  /** The onRetry of every caller waiting on it. */
  retryWatchers: Set<(event: RetryEvent) => void>;
}

const caches = new WeakMap<ReplicateClient, Map<string, Lookup>>();

async function lookUp(client: ReplicateClient, target: PredictionTarget, options: CallOptions): Promise<ModelInput | undefined> {
  switch (target.kind) {
    case 'model': {
      const model = await client.getModel(`${target.owner}/${target.name}`, options);
      const schema = model.latest_version?.openapi_schema;
      const fields = inputFields(schema);
      return (
        fields && {
          model: `${target.owner}/${target.name}`,
          version: model.latest_version?.id,
          fields,
          concatenates: outputConcatenates(schema),
        }
      );
    }
    case 'version': {
      if (!target.model) return undefined; // a bare version id: the API cannot look it up without its model
      const ref = `${target.model.owner}/${target.model.name}`;
      const version = await client.getModelVersion(ref, target.version, options);
      const fields = inputFields(version.openapi_schema);
      return fields && { model: ref, version: version.id, fields, concatenates: outputConcatenates(version.openapi_schema) };
    }
    case 'deployment': {
      const deployment = await client.getDeployment(`${target.owner}/${target.name}`, options);
      const release = deployment.current_release;
      if (!release?.model || !release.version) return undefined;
      const version = await client.getModelVersion(release.model, release.version, options);
      const fields = inputFields(version.openapi_schema);
      return fields && { model: release.model, version: release.version, fields, concatenates: outputConcatenates(version.openapi_schema) };
    }
  }
}

function keyOf(target: PredictionTarget): string {
  if (target.kind === 'version') return `version:${target.version}`;
  return `${target.kind}:${target.owner}/${target.name}`;
}

/**
 * The target's input fields, from the cache when fresh; undefined when Replicate does not publish
 * them. A lookup is shared by every node asking for the same target, so it runs on none of their
 * signals (one node's redeploy must not fail the others' messages; the client's close ends it):
 * each caller only stops waiting when its own signal aborts.
 */
export function modelInput(
  client: ReplicateClient,
  target: PredictionTarget,
  options: CallOptions = {},
  now = Date.now(),
): Promise<ModelInput | undefined> {
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = new Map<string, Lookup>()));
  const key = keyOf(target);
  let lookup = fresh(cache, key, now);
  if (!lookup) {
    const retryWatchers = new Set<(event: RetryEvent) => void>();
    const input = lookUp(client, target, { onRetry: (event) => retryWatchers.forEach((watch) => watch(event)) });
    const started: Lookup = { expires: now + CACHE_MS, input, retryWatchers };
    cache.set(key, started);
    input.then(
      (found) => (started.answer = { input: found }),
      () => {
        if (cache.get(key) === started) cache.delete(key); // a failed lookup is tried again by the next message
      },
    );
    lookup = started;
  }
  return lookup.answer ? Promise.resolve(lookup.answer.input) : waitFor(lookup, options);
}

/**
 * The answer of a lookup that has already answered, without waiting: a node that finds it goes
 * on at once, so a burst of messages sends each request as its message arrives. Undefined when
 * there is none yet (then ask modelInput()).
 */
export function knownModelInput(
  client: ReplicateClient,
  target: PredictionTarget,
  now = Date.now(),
): { input: ModelInput | undefined } | undefined {
  const cache = caches.get(client);
  return cache && fresh(cache, keyOf(target), now)?.answer;
}

function fresh(cache: Map<string, Lookup>, key: string, now: number): Lookup | undefined {
  const lookup = cache.get(key);
  return lookup && lookup.expires > now ? lookup : undefined;
}

const listeners = new AbortListeners();

function waitFor(lookup: Lookup, { signal, onRetry }: CallOptions): Promise<ModelInput | undefined> {
  if (!signal && !onRetry) return lookup.input;
  if (signal?.aborted) return Promise.reject(abortedError());
  return new Promise((resolve, reject) => {
    const watch = onRetry && ((event: RetryEvent) => onRetry(event));
    if (watch) lookup.retryWatchers.add(watch);
    const waiter = {
      onAbort() {
        stop();
        reject(abortedError());
      },
    };
    const stop = () => {
      if (signal) listeners.remove(signal, waiter);
      if (watch) lookup.retryWatchers.delete(watch);
    };
    if (signal) listeners.add(signal, waiter);
    lookup.input.then(
      (input) => {
        stop();
        resolve(input);
      },
      (err: Error) => {
        stop();
        reject(err);
      },
    );
  });
}
