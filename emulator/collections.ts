// Collections of models, drawn from the catalog: the official models, the language models (their
// output streams as text) and the upscalers (an image input and a `scale`); and GET /search, which
// answers models and collections that match the query.
import { fullName, type Catalog, type CatalogModel } from './catalog';
import { streamsText } from './streams';

/** At most this many models in a collection. */
const COLLECTION_SIZE = 50;

interface Collection {
  slug: string;
  name: string;
  description: string;
  includes: (model: CatalogModel) => boolean;
}

function hasScaleAndImage(model: CatalogModel): boolean {
  const schema = model.latest_version?.openapi_schema as { components?: { schemas?: { Input?: { properties?: unknown } } } } | undefined;
  const properties = (schema?.components?.schemas?.Input?.properties ?? {}) as Record<string, { type?: string; format?: string }>;
  return properties.scale !== undefined && Object.values(properties).some((p) => p.type === 'string' && p.format === 'uri');
}

const COLLECTIONS: Collection[] = [
  {
    slug: 'official',
    name: 'Official models',
    description: 'Official models are always on, maintained, and have predictable pricing.',
    includes: (model) => model.is_official,
  },
  {
    slug: 'language-models',
    name: 'Language models',
    description: 'Models that can understand and generate text, their answers streamed as they are written.',
    includes: streamsText,
  },
  {
    slug: 'super-resolution',
    name: 'Super resolution',
    description: 'Upscaling models that create high-quality images from low-quality images.',
    includes: hasScaleAndImage,
  },
];

export class Collections {
  private readonly members = new Map<string, CatalogModel[]>();

  constructor(private readonly catalog: Catalog) {}

  /** schemas_collection_list_item of each collection. */
  list(): Record<string, string>[] {
    return COLLECTIONS.map(({ slug, name, description }) => ({ name, slug, description }));
  }

  /** schemas_collection_response without its models' JSON (the caller splices the cached JSON in). */
  get(slug: string): { head: Record<string, unknown>; models: CatalogModel[] } | undefined {
    const collection = COLLECTIONS.find((c) => c.slug === slug);
    if (!collection) return undefined;
    const { name, description } = collection;
    return { head: { name, slug, description, full_description: null }, models: this.modelsOf(collection) };
  }

  /** GET /search: the matching models (at most `limit`) and the collections whose name or description matches. */
  search(query: string, limit: number): { models: CatalogModel[]; collections: Record<string, unknown>[] } {
    const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    const collections = COLLECTIONS.filter((c) =>
      terms.every((term) => `${c.slug} ${c.name} ${c.description}`.toLowerCase().includes(term)),
    ).map((c) => ({ name: c.name, slug: c.slug, description: c.description, models: this.modelsOf(c).slice(0, 5).map(fullName) }));
    return { models: this.catalog.search(query).slice(0, limit), collections };
  }

  private modelsOf(collection: Collection): CatalogModel[] {
    let models = this.members.get(collection.slug);
    if (!models) {
      models = this.catalog.models
        .filter((model) => collection.includes(model))
        .sort((a, b) => (b.run_count ?? 0) - (a.run_count ?? 0))
        .slice(0, COLLECTION_SIZE);
      this.members.set(collection.slug, models);
    }
    return models;
  }
}
