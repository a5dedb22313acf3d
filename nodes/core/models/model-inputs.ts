// Which input a prediction target takes: the OpenAPI schema of the version it will run, looked
// up once per account and target and kept for a while (schemas change only with new versions).
import { inputFields, type InputField } from './input-schema';
import type { CallOptions, PredictionTarget, ReplicateClient } from '../http';

export interface ModelInput {
  /** `owner/name` of the model, for messages. */
  model: string;
  /** The version whose schema this is, when known. */
  version?: string;
  fields: InputField[];
}

const CACHE_MS = 10 * 60 * 1000;
const caches = new WeakMap<ReplicateClient, Map<string, { expires: number; input: Promise<ModelInput | undefined> }>>();

async function lookUp(client: ReplicateClient, target: PredictionTarget, options: CallOptions): Promise<ModelInput | undefined> {
  switch (target.kind) {
    case 'model': {
      const model = await client.getModel(`${target.owner}/${target.name}`, options);
      const fields = inputFields(model.latest_version?.openapi_schema);
      return fields && { model: `${target.owner}/${target.name}`, version: model.latest_version?.id, fields };
    }
    case 'version': {
      if (!target.model) return undefined; // a bare version id: the API cannot look it up without its model
      const ref = `${target.model.owner}/${target.model.name}`;
      const version = await client.getModelVersion(ref, target.version, options);
      const fields = inputFields(version.openapi_schema);
      return fields && { model: ref, version: version.id, fields };
    }
    case 'deployment': {
      const deployment = await client.getDeployment(`${target.owner}/${target.name}`, options);
      const release = deployment.current_release;
      if (!release?.model || !release.version) return undefined;
      const version = await client.getModelVersion(release.model, release.version, options);
      const fields = inputFields(version.openapi_schema);
      return fields && { model: release.model, version: release.version, fields };
    }
  }
}

function keyOf(target: PredictionTarget): string {
  if (target.kind === 'version') return `version:${target.version}`;
  return `${target.kind}:${target.owner}/${target.name}`;
}

/** The target's input fields, from the cache when fresh; undefined when Replicate does not publish them. */
export function modelInput(client: ReplicateClient, target: PredictionTarget, options: CallOptions = {}, now = Date.now()): Promise<ModelInput | undefined> {
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = new Map()));
  const key = keyOf(target);
  const cached = cache.get(key);
  if (cached && cached.expires > now) return cached.input;
  const input = lookUp(client, target, options);
  cache.set(key, { expires: now + CACHE_MS, input });
  input.catch(() => cache.delete(key)); // a failed lookup is tried again by the next message
  return input;
}
