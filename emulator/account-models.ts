// Models an account creates (POST /models) and the versions its trainings push to them, per
// emulator: the catalog is shared by every emulator in the process and never changes. A version
// appears only once its training has succeeded, as on Replicate, computed from the training's
// timeline when asked, so a cancel or a failure leaves the destination without it.
import { randomBytes } from 'node:crypto';
import type { Account } from './accounts';
import type { Catalog, CatalogModel, CatalogVersion } from './catalog';
import { validateBody } from './input-validation';
import { isTerminal, type PredictionRecord } from './predictions';
import { badRequest, json, problem, validationFailed, type ApiResponse } from './responses';

/** GET /hardware, as Replicate lists it (SKUs models.create takes). */
export const HARDWARE: readonly { name: string; sku: string }[] = [
  { name: 'CPU', sku: 'cpu' },
  { name: 'Nvidia T4 GPU', sku: 'gpu-t4' },
  { name: 'Nvidia L40S GPU', sku: 'gpu-l40s' },
  { name: '2x Nvidia L40S GPU', sku: 'gpu-l40s-2x' },
  { name: 'Nvidia A100 (80GB) GPU', sku: 'gpu-a100-large' },
  { name: '2x Nvidia A100 (80GB) GPU', sku: 'gpu-a100-large-2x' },
  { name: 'Nvidia H100 GPU', sku: 'gpu-h100' },
];

/** Replicate keeps model names to these characters. */
const MODEL_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?$/;
/** Replicate's limit of models per account. */
const MAX_MODELS_PER_ACCOUNT = 1000;

export interface TrainedVersion {
  id: string;
  /** The training that makes it; the version exists once that has succeeded. */
  training: PredictionRecord;
  /** The trainer's model: its schema and example are the new version's. */
  trainer: CatalogModel;
}

export interface AccountModel {
  owner: string;
  name: string;
  description: string | null;
  visibility: 'public' | 'private';
  hardware: string;
  createdAt: string;
  github_url: string | null;
  paper_url: string | null;
  license_url: string | null;
  cover_image_url: string | null;
  versions: TrainedVersion[];
}

const createModelSchema = {
  type: 'object',
  required: ['owner', 'name', 'visibility', 'hardware'],
  properties: {
    owner: { type: 'string' },
    name: { type: 'string' },
    visibility: { type: 'string', enum: ['public', 'private'] },
    hardware: { type: 'string' },
    description: { type: 'string' },
    github_url: { type: 'string' },
    paper_url: { type: 'string' },
    license_url: { type: 'string' },
    cover_image_url: { type: 'string' },
  },
};

export class AccountModels {
  private readonly byName = new Map<string, AccountModel>();

  /** The model, when it exists and the account may see it (a private model only its owner). */
  get(owner: string, name: string, viewer: Account): AccountModel | undefined {
    const model = this.byName.get(`${owner}/${name}`);
    return model && (model.visibility === 'public' || model.owner === viewer.username) ? model : undefined;
  }

  /** The model's versions whose training has succeeded, newest first. */
  versions(model: AccountModel, now: number): TrainedVersion[] {
    return model.versions
      .filter((v) => isTerminal(v.training, now) && v.training.end.status === 'succeeded')
      .sort((a, b) => b.training.end.at - a.training.end.at);
  }

  /** A new version of the model, there once the training succeeds. */
  addVersion(model: AccountModel, training: PredictionRecord, trainer: CatalogModel): string {
    const id = randomBytes(32).toString('hex');
    model.versions.push({ id, training, trainer });
    return id;
  }

  /** A version of a model the account may see, as the catalog's models look, for predictions. */
  runnable(viewer: Account, owner: string, name: string, versionId: string, now: number): CatalogModel | undefined {
    const model = this.get(owner, name, viewer);
    const version = model && this.versions(model, now).find((v) => v.id === versionId);
    return model && version && asCatalogModel(model, version);
  }

  /** A version found by its id alone (POST /predictions with a bare version id). */
  runnableById(viewer: Account, versionId: string, now: number): CatalogModel | undefined {
    for (const model of this.byName.values()) {
      if (model.visibility === 'private' && model.owner !== viewer.username) continue;
      const version = this.versions(model, now).find((v) => v.id === versionId);
      if (version) return asCatalogModel(model, version);
    }
    return undefined;
  }

  /** POST /models. */
  create(catalog: Catalog, account: Account, raw: string): ApiResponse {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return badRequest('Invalid JSON', 'The request body is not valid JSON.');
    }
    const problems = validateBody(body, createModelSchema);
    if (problems.length > 0) return validationFailed(problems);
    const fields = body as Record<string, string | undefined> & { owner: string; name: string; hardware: string };
    if (fields.owner !== account.username)
      return problem(403, 'Forbidden', `You do not have permission to create models for ${fields.owner}.`);
    if (!MODEL_NAME.test(fields.name))
      return validationFailed([
        {
          type: 'format',
          field: 'name',
          description: 'Model names may contain only lowercase letters, numbers, dashes, underscores and periods.',
        },
      ]);
    if (!HARDWARE.some((h) => h.sku === fields.hardware))
      return validationFailed([{ type: 'enum', field: 'hardware', description: `Invalid hardware SKU "${fields.hardware}".` }]);
    const key = `${fields.owner}/${fields.name}`;
    if (this.byName.has(key) || catalog.model(fields.owner, fields.name))
      return problem(409, 'Conflict', 'A model with that name and owner already exists.');
    if ([...this.byName.values()].filter((m) => m.owner === account.username).length >= MAX_MODELS_PER_ACCOUNT)
      return problem(403, 'Forbidden', `An account can have at most ${MAX_MODELS_PER_ACCOUNT} models.`);
    const model: AccountModel = {
      owner: fields.owner,
      name: fields.name,
      description: fields.description ?? null,
      visibility: fields.visibility === 'public' ? 'public' : 'private',
      hardware: fields.hardware,
      createdAt: new Date().toISOString(),
      github_url: fields.github_url ?? null,
      paper_url: fields.paper_url ?? null,
      license_url: fields.license_url ?? null,
      cover_image_url: fields.cover_image_url ?? null,
      versions: [],
    };
    this.byName.set(key, model);
    return json(201, this.view(model, Date.now()));
  }

  /** The model as GET /models/{owner}/{name} answers it. */
  view(model: AccountModel, now: number): Record<string, unknown> {
    const latest = this.versions(model, now)[0];
    return {
      url: `https://replicate.com/${model.owner}/${model.name}`,
      owner: model.owner,
      name: model.name,
      description: model.description,
      visibility: model.visibility,
      github_url: model.github_url,
      paper_url: model.paper_url,
      license_url: model.license_url,
      run_count: 0,
      cover_image_url: model.cover_image_url,
      default_example: null,
      latest_version: latest ? versionView(latest) : null,
      is_official: false,
    };
  }

  /** GET /models/{owner}/{name}/versions: every version, newest first. */
  versionList(model: AccountModel, now: number): Record<string, unknown>[] {
    return this.versions(model, now).map(versionView);
  }

  clear(): void {
    this.byName.clear();
  }
}

export function versionView(version: TrainedVersion): Record<string, unknown> {
  const trainerVersion = version.trainer.latest_version;
  return {
    id: version.id,
    created_at: new Date(version.training.end.at).toISOString(),
    cog_version: trainerVersion?.cog_version ?? null,
    openapi_schema: trainerVersion?.openapi_schema ?? null,
  };
}

function asCatalogModel(model: AccountModel, version: TrainedVersion): CatalogModel {
  const latest: CatalogVersion = versionView(version) as unknown as CatalogVersion;
  return {
    owner: model.owner,
    name: model.name,
    description: model.description,
    latest_version: latest,
    default_example: version.trainer.default_example ?? null,
    is_official: false,
  };
}
