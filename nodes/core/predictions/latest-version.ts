// A community model named without a version (`nightmareai/real-esrgan`, as the catalog, the
// picker and most tutorials name it). Replicate runs only official models by name: a create by
// `owner/name` for any other model is refused with 404, which means nothing was created. Then the
// model's latest version runs, and the node remembers that the name is a community model, so its
// later messages go straight to that version, looked up again after LATEST_VERSION_MS (a new
// version is then picked up). Results change when the model does: pin `owner/name:version` where
// they must not.
import {
  ReplicateError,
  type CallOptions,
  type CreateOptions,
  type CreatePredictionBody,
  type Model,
  type Prediction,
  type PredictionTarget,
  type ReplicateClient,
} from '../http';

/** How long a node runs the latest version it found before asking Replicate for the model's latest version again. */
export const LATEST_VERSION_MS = 10 * 60 * 1000;

/** Names of models a node may remember: messages may name any number of models. */
const MAX_REMEMBERED = 100;

/** One node's memory of the names that are community models, and the latest version of each. */
export class CommunityModels {
  private readonly latest = new Map<string, { version: string; expires: number }>();

  constructor(private readonly keepMs = LATEST_VERSION_MS) {}

  /** Is `model` (owner/name) known as a community model? Then its version, or undefined once that must be looked up again. */
  known(model: string, now = Date.now()): { version?: string } | undefined {
    const entry = this.latest.get(model);
    if (!entry) return undefined;
    return entry.expires > now ? { version: entry.version } : {};
  }

  /** Remembers `model`'s latest version; true when it is new for this node (the first, or a newer one). */
  remember(model: string, version: string, now = Date.now()): boolean {
    const before = this.latest.get(model);
    if (!before && this.latest.size >= MAX_REMEMBERED) this.latest.clear();
    this.latest.set(model, { version, expires: now + this.keepMs });
    return before?.version !== version;
  }
}

export interface LatestVersionRun {
  /** The node's memory; without it a name is created as it is, as before. */
  communityModels?: CommunityModels;
  /** A community model ran a version the node had not run before: said once on its status and in its log. */
  onLatestVersion?: (model: string, version: string) => void;
}

/**
 * Creates the prediction. A community model by name runs its latest version: straight away when
 * the node knows the name, else after Replicate refused the create by name with 404 (nothing was
 * created, so one create still makes at most one prediction).
 */
export async function createForTarget(
  client: ReplicateClient,
  target: PredictionTarget,
  body: CreatePredictionBody,
  options: CreateOptions & LatestVersionRun,
): Promise<Prediction> {
  const { communityModels, onLatestVersion, ...createOptions } = options;
  if (!communityModels || target.kind !== 'model') return client.createPrediction(target, body, createOptions);
  const model = `${target.owner}/${target.name}`;
  const runLatest = async (version: string) => {
    if (communityModels.remember(model, version)) onLatestVersion?.(model, version);
    return client.createPrediction({ kind: 'version', version, model: { owner: target.owner, name: target.name } }, body, createOptions);
  };

  const known = communityModels.known(model);
  if (known?.version) return runLatest(known.version);
  if (known) return runLatest(latestVersion(model, await client.getModel(model, lookupOptions(createOptions))));
  let found: Model;
  try {
    return await client.createPrediction(target, body, createOptions);
  } catch (err) {
    if (!(err instanceof ReplicateError) || err.code !== 'not-found') throw err;
    // the model missing altogether is said as the create said it
    found = await client.getModel(model, lookupOptions(createOptions)).catch((lookup: unknown) => {
      throw lookup instanceof ReplicateError && lookup.code === 'not-found' ? err : lookup;
    });
  }
  return runLatest(latestVersion(model, found));
}

const lookupOptions = ({ signal, onRetry }: CallOptions): CallOptions => ({ signal, onRetry });

/** The id of the model's latest version; a model without one (new and empty) cannot run, which the error says. */
function latestVersion(model: string, found: Model): string {
  const version = found.latest_version?.id;
  if (version) return version;
  throw new ReplicateError('create.modelWithoutVersion', { model }, { code: 'not-found', status: 404, retryable: false });
}
