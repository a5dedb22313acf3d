// Types shared by the node files (erased at build: nothing here is loaded at run time).
import type { Node } from 'node-red';
import type { ReplicateClient } from './core/replicate-client';

export interface ReplicateCredentials {
  token?: string;
  webhookSecret?: string;
}

export interface ReplicateConfigNode extends Node<ReplicateCredentials> {
  baseUrl: string;
  webhookBaseUrl: string;
  /** The shared client for this account; throws a sentence when the node cannot work. */
  client(): ReplicateClient;
  /** The whsec_... signing secret typed into the config node, if any. */
  webhookSecret(): string | undefined;
}
