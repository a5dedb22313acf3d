// The config node's editor endpoints (nodes/editor-endpoints.ts) as the tests call them: POST a
// body, read the answer, typed as the test expects it.
import { helper } from './node-red';

export interface Answer {
  ok: boolean;
  /** Why it failed. */
  message?: string;
}
export interface ModelsAnswer extends Answer {
  models: Array<{ ref: string; official: boolean; latestVersion: string }>;
  next: string | null;
}
export interface VersionsAnswer extends Answer {
  versions: Array<{ id: string }>;
}
export interface DeploymentsAnswer extends Answer {
  deployments: Array<{ ref: string; model: string; version: string }>;
}
export interface SchemaAnswer extends Answer {
  fields: Array<{ name: string }>;
}

/** POSTs to /replicate-config/<route> on the admin API and expects a 200; T: the answer the test expects. */
export async function ask<T extends Answer = Answer>(route: string, body: object): Promise<{ body: T; text: string }> {
  const res = await helper.request().post(`/replicate-config/${route}`).send(body).expect(200);
  return { body: res.body as T, text: res.text };
}
