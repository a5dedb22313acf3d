// A client for one account, from a config node's settings and credentials.
import type { NodeAPI } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import type { ReplicateConfigNode, ReplicateCredentials } from './node-types';

/** The deployed config node of that id; undefined when there is none, or the id names a node of another type. */
export function configNodeOf(RED: NodeAPI, id: unknown): ReplicateConfigNode | undefined {
  const node = typeof id === 'string' && id ? (RED.nodes.getNode(id) as ReplicateConfigNode | null) : null;
  return node?.type === 'replicate-config' ? node : undefined;
}

export function tokenFrom(credentials: ReplicateCredentials | undefined): string | undefined {
  return credentials?.token?.trim() || process.env.REPLICATE_API_TOKEN?.trim() || undefined;
}

export function clientFor(settings: Core.ConfigSettings, token: string | undefined): Core.ReplicateClient {
  const { InputError, ReplicateClient } = core();
  if (!token) {
    throw new InputError('node.noToken', undefined, 'no-token');
  }
  return new ReplicateClient({
    baseUrl: settings.baseUrl,
    token,
    timeoutMs: settings.timeout * 1000,
    maxConcurrency: settings.concurrency,
    createsPerMinute: settings.createRateLimit,
    requestsPerMinute: settings.requestRateLimit,
    retry: { maxRetries: settings.maxRetries },
  });
}
