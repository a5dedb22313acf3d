// Each account has one deployment of black-forest-labs/flux-schnell, enough to exercise the
// deployment endpoints.
import { accountView, type Account } from './accounts';
import type { Catalog } from './catalog';

export const DEPLOYMENT_NAME = 'flux-schnell-prod';
export const DEPLOYMENT_MODEL = { owner: 'black-forest-labs', name: 'flux-schnell' };

export function deploymentOf(account: Account, catalog: Catalog, releasedAt: string): Record<string, unknown> {
  const model = catalog.model(DEPLOYMENT_MODEL.owner, DEPLOYMENT_MODEL.name);
  return {
    owner: account.username,
    name: DEPLOYMENT_NAME,
    current_release: {
      number: 1,
      model: `${DEPLOYMENT_MODEL.owner}/${DEPLOYMENT_MODEL.name}`,
      version: model?.latest_version?.id ?? '',
      created_at: releasedAt,
      created_by: accountView(account),
      configuration: { hardware: 'gpu-t4', min_instances: 0, max_instances: 1 },
    },
  };
}
