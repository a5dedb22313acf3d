// The public models, from the `all-the-public-replicate-models` snapshot. The file is 62 MB and
// takes about a second to parse, so it is read once per process and shared by every emulator.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface CatalogVersion {
  id: string;
  created_at: string;
  cog_version?: string | null;
  openapi_schema?: unknown;
}

/** A model as the snapshot lists it. */
export interface CatalogEntry {
  owner: string;
  name: string;
  description?: string | null;
  run_count?: number;
  created_at?: string;
  latest_version?: CatalogVersion | null;
  default_example?: { output?: unknown; metrics?: { predict_time?: number; total_time?: number } } | null;
  [field: string]: unknown;
}

export type CatalogModel = CatalogEntry & { is_official: boolean };

export type SortBy = 'model_created_at' | 'latest_version_created_at';
export type SortDirection = 'asc' | 'desc';

// Models Replicate runs as "official" (no version needed), from Replicate's official-models
// collection. The snapshot predates the API's `is_official` field: where an entry carries it, it wins.
const OFFICIAL_MODELS = new Set([
  'black-forest-labs/flux-schnell',
  'black-forest-labs/flux-dev',
  'black-forest-labs/flux-pro',
  'black-forest-labs/flux-1.1-pro',
  'black-forest-labs/flux-1.1-pro-ultra',
  'black-forest-labs/flux-fill-pro',
  'black-forest-labs/flux-canny-pro',
  'black-forest-labs/flux-depth-pro',
  'black-forest-labs/flux-redux-dev',
  'black-forest-labs/flux-redux-schnell',
  'black-forest-labs/flux-fill-dev',
  'black-forest-labs/flux-canny-dev',
  'black-forest-labs/flux-depth-dev',
  'meta/meta-llama-3-8b-instruct',
  'meta/meta-llama-3-70b-instruct',
  'meta/meta-llama-3-8b',
  'meta/meta-llama-3-70b',
  'meta/meta-llama-3.1-405b-instruct',
  'ideogram-ai/ideogram-v2',
  'ideogram-ai/ideogram-v2-turbo',
  'minimax/video-01',
  'minimax/video-01-live',
  'minimax/music-01',
  'recraft-ai/recraft-v3',
  'recraft-ai/recraft-v3-svg',
  'stability-ai/stable-diffusion-3.5-large',
  'stability-ai/stable-diffusion-3.5-large-turbo',
  'stability-ai/stable-diffusion-3.5-medium',
  'luma/photon',
  'luma/photon-flash',
  'luma/ray',
  'ibm-granite/granite-3.0-8b-instruct',
  'ibm-granite/granite-3.0-2b-instruct',
  'ibm-granite/granite-3.1-8b-instruct',
  'ibm-granite/granite-3.1-2b-instruct',
]);

export class Catalog {
  readonly models: readonly CatalogModel[];
  private readonly byName = new Map<string, CatalogModel>();
  private readonly byVersion = new Map<string, CatalogModel>();
  private readonly sortedLists = new Map<string, CatalogModel[]>();
  private readonly searchText = new Map<CatalogModel, string>();
  private readonly serialized = new WeakMap<CatalogModel, string>();

  constructor(entries: readonly CatalogEntry[]) {
    this.models = entries.map((entry) => ({
      ...entry,
      is_official: typeof entry.is_official === 'boolean' ? entry.is_official : OFFICIAL_MODELS.has(`${entry.owner}/${entry.name}`),
    }));
    for (const model of this.models) {
      this.byName.set(`${model.owner}/${model.name}`, model);
      if (model.latest_version) this.byVersion.set(model.latest_version.id, model);
      this.searchText.set(model, `${fullName(model)}\n${model.description ?? ''}`.toLowerCase());
    }
  }

  model(owner: string, name: string): CatalogModel | undefined {
    return this.byName.get(`${owner}/${name}`);
  }

  modelOfVersion(versionId: string): CatalogModel | undefined {
    return this.byVersion.get(versionId);
  }

  sorted(sortBy: SortBy, direction: SortDirection): readonly CatalogModel[] {
    const key = `${sortBy}:${direction}`;
    let list = this.sortedLists.get(key);
    if (!list) {
      const time = (m: CatalogModel): number =>
        Date.parse((sortBy === 'model_created_at' ? m.created_at : m.latest_version?.created_at) ?? '') || 0;
      const sign = direction === 'asc' ? 1 : -1;
      // Ties broken by name so every page boundary is stable.
      list = [...this.models].sort((a, b) => sign * (time(a) - time(b)) || fullName(a).localeCompare(fullName(b)));
      this.sortedLists.set(key, list);
    }
    return list;
  }

  /** Models whose owner, name or description contain every term, most run first. */
  search(text: string): CatalogModel[] {
    const terms = text.toLowerCase().split(/\s+/).filter(Boolean);
    return this.models
      .filter((model) => {
        const haystack = this.searchText.get(model) ?? '';
        return terms.every((term) => haystack.includes(term));
      })
      .sort((a, b) => (b.run_count ?? 0) - (a.run_count ?? 0) || fullName(a).localeCompare(fullName(b)));
  }

  /** The model as JSON, serialized once: list pages repeat the same large objects. */
  json(model: CatalogModel): string {
    let text = this.serialized.get(model);
    if (text === undefined) {
      text = JSON.stringify(model);
      this.serialized.set(model, text);
    }
    return text;
  }
}

export function fullName(model: { owner: string; name: string }): string {
  return `${model.owner}/${model.name}`;
}

let loading: Promise<Catalog> | undefined;

export function loadCatalog(): Promise<Catalog> {
  loading ??= readCatalog().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function readCatalog(): Promise<Catalog> {
  // The package's exports map has no './models.json'; it sits beside the main entry.
  const file = path.join(path.dirname(require.resolve('all-the-public-replicate-models')), 'models.json');
  const entries: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (!Array.isArray(entries)) throw new Error(`${file} is not a list of models`);
  return new Catalog(entries as CatalogEntry[]);
}
