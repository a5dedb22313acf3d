// Deployments per account: each starts with one of black-forest-labs/flux-schnell, and can be
// created, updated (each update is a new release) and deleted as on Replicate.
import { z } from 'zod';
import { accountView, type Account } from './accounts';
import type { Catalog, CatalogModel } from './catalog';
import { badRequest, json, notFound, problem, validationFailed, type ApiResponse } from './responses';

export const DEPLOYMENT_NAME = 'flux-schnell-prod';
export const DEPLOYMENT_MODEL = { owner: 'black-forest-labs', name: 'flux-schnell' };
/** Deployments an account may have: a bound on what API calls can make the emulator hold. */
export const MAX_DEPLOYMENTS = 100;
/** The hardware SKUs a deployment may name. */
const HARDWARE = ['cpu', 'gpu-t4', 'gpu-l40s', 'gpu-l40s-2x', 'gpu-a100-large', 'gpu-a100-large-2x', 'gpu-h100'];

interface Release {
  number: number;
  model: string;
  version: string;
  createdAt: string;
  configuration: { hardware: string; min_instances: number; max_instances: number };
}

interface Deployment {
  owner: string;
  name: string;
  release: Release;
}

const instances = { min_instances: z.number().int().min(0).max(5), max_instances: z.number().int().min(0).max(20) };
const createBody = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'Must be lowercase letters, digits, dots, dashes and underscores'),
  model: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'Must be owner/name'),
  version: z.string(),
  hardware: z.string(),
  ...instances,
});
const updateBody = z.strictObject({
  version: z.string().optional(),
  hardware: z.string().optional(),
  min_instances: instances.min_instances.optional(),
  max_instances: instances.max_instances.optional(),
});

function parse<T>(schema: z.ZodType<T>, raw: string): { value: T } | { response: ApiResponse } {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { response: badRequest('Invalid JSON', 'The request body is not valid JSON.') };
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return { value: parsed.data };
  return {
    response: validationFailed(
      parsed.error.issues.map((issue) => ({ type: issue.code, field: issue.path.join('.') || 'body', description: issue.message })),
    ),
  };
}

export class DeploymentStore {
  /** By owner, then name; an owner's list is made on first use. */
  private readonly byOwner = new Map<string, Map<string, Deployment>>();

  constructor(
    private readonly catalog: Catalog,
    private readonly startedAt: string,
  ) {}

  private of(owner: string): Map<string, Deployment> {
    let owned = this.byOwner.get(owner);
    if (!owned) {
      const model = this.catalog.model(DEPLOYMENT_MODEL.owner, DEPLOYMENT_MODEL.name);
      const first: Deployment = {
        owner,
        name: DEPLOYMENT_NAME,
        release: {
          number: 1,
          model: `${DEPLOYMENT_MODEL.owner}/${DEPLOYMENT_MODEL.name}`,
          version: model?.latest_version?.id ?? '',
          createdAt: this.startedAt,
          configuration: { hardware: 'gpu-t4', min_instances: 0, max_instances: 1 },
        },
      };
      owned = new Map([[first.name, first]]);
      this.byOwner.set(owner, owned);
    }
    return owned;
  }

  list(account: Account): Record<string, unknown>[] {
    return [...this.of(account.username).values()].map((d) => view(d, account));
  }

  get(account: Account, owner: string, name: string): Record<string, unknown> | undefined {
    const found = owner === account.username ? this.of(owner).get(name) : undefined;
    return found && view(found, account);
  }

  /** The model a deployment runs, when the account may run it. */
  modelOf(account: Account, owner: string, name: string): CatalogModel | undefined {
    const found = owner === account.username ? this.of(owner).get(name) : undefined;
    const [modelOwner = '', modelName = ''] = found?.release.model.split('/') ?? [];
    return found && this.catalog.model(modelOwner, modelName);
  }

  create(account: Account, raw: string): ApiResponse {
    const parsed = parse(createBody, raw);
    if ('response' in parsed) return parsed.response;
    const body = parsed.value;
    const [modelOwner = '', modelName = ''] = body.model.split('/');
    const model = this.catalog.model(modelOwner, modelName);
    if (!model) return notFound();
    const problemOf = this.checkRelease(model, body.version, body.hardware, body.min_instances, body.max_instances);
    if (problemOf) return problemOf;
    const owned = this.of(account.username);
    if (owned.has(body.name)) return problem(409, 'Conflict', `A deployment named ${body.name} already exists.`);
    if (owned.size >= MAX_DEPLOYMENTS) return problem(409, 'Conflict', `An account can have at most ${MAX_DEPLOYMENTS} deployments.`);
    const deployment: Deployment = {
      owner: account.username,
      name: body.name,
      release: {
        number: 1,
        model: body.model,
        version: body.version,
        createdAt: new Date().toISOString(),
        configuration: { hardware: body.hardware, min_instances: body.min_instances, max_instances: body.max_instances },
      },
    };
    owned.set(body.name, deployment);
    return json(200, view(deployment, account));
  }

  update(account: Account, owner: string, name: string, raw: string): ApiResponse {
    const found = owner === account.username ? this.of(owner).get(name) : undefined;
    if (!found) return notFound();
    const parsed = parse(updateBody, raw);
    if ('response' in parsed) return parsed.response;
    const body = parsed.value;
    const [modelOwner = '', modelName = ''] = found.release.model.split('/');
    const model = this.catalog.model(modelOwner, modelName);
    const configuration = { ...found.release.configuration, ...dropUndefined(body) };
    delete (configuration as { version?: string }).version;
    const version = body.version ?? found.release.version;
    const problemOf =
      model && this.checkRelease(model, version, configuration.hardware, configuration.min_instances, configuration.max_instances);
    if (problemOf) return problemOf;
    found.release = {
      number: found.release.number + 1,
      model: found.release.model,
      version,
      createdAt: new Date().toISOString(),
      configuration,
    };
    return json(200, view(found, account));
  }

  delete(account: Account, owner: string, name: string): ApiResponse {
    const owned = owner === account.username ? this.of(owner) : undefined;
    if (!owned?.delete(name)) return notFound();
    return { status: 204, body: '', contentType: 'text/plain' };
  }

  clear(): void {
    this.byOwner.clear();
  }

  private checkRelease(model: CatalogModel, version: string, hardware: string, min: number, max: number): ApiResponse | undefined {
    if (model.latest_version?.id !== version)
      return validationFailed([{ type: 'invalid', field: 'version', description: `${version} is not a version of this model` }]);
    if (!HARDWARE.includes(hardware))
      return validationFailed([{ type: 'enum', field: 'hardware', description: `Must be one of ${HARDWARE.join(', ')}` }]);
    if (min > max)
      return validationFailed([{ type: 'invalid', field: 'min_instances', description: 'Must not be more than max_instances' }]);
    return undefined;
  }
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function view(d: Deployment, account: Account): Record<string, unknown> {
  return {
    owner: d.owner,
    name: d.name,
    current_release: {
      number: d.release.number,
      model: d.release.model,
      version: d.release.version,
      created_at: d.release.createdAt,
      created_by: accountView(account),
      configuration: d.release.configuration,
    },
  };
}
