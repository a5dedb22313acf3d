// Types shared by the node files (erased at build: nothing here is loaded at run time).
import type { Node, NodeMessage } from 'node-red';
import type { FileFetcher, ReplicateClient, StreamLimits, WebhookSecretSource } from './core';

export interface ReplicateCredentials {
  token?: string;
  webhookSecret?: string;
}

export interface ReplicateConfigNode extends Node<ReplicateCredentials> {
  baseUrl: string;
  webhookBaseUrl: string;
  /** The shared client for this account; throws a sentence when the node cannot work. */
  client(): ReplicateClient;
  /** Bytes up to which a file in a model input goes inline as a data: URL. */
  inlineFileLimit: number;
  /** Downloads output files from the allowed hosts, up to the largest download; never with the token. */
  files(): FileFetcher;
  /** The hosts a prediction's stream may be read from, and the most one stream may send. */
  streamLimits(): StreamLimits;
  /** The whsec_... signing secret: typed into the config node, else fetched with the token. */
  signingSecret(): WebhookSecretSource;
  /** Waits and recent deliveries are saved for a restart in the context store `waitStore` (undefined: the default). */
  keepWaits: boolean;
  waitStore: string | undefined;
}

/** A webhook URL a create node hands to Replicate, good for one prediction. */
export interface CompletedNodeWebhook {
  url: string;
  /** The create failed before Replicate had the prediction: the kept message is not needed. */
  forget(): Promise<void>;
}

export interface PredictionCompletedNode extends Node {
  /** Keeps msg's correlation fields and returns the URL that leads back to them. */
  webhookFor(msg: NodeMessage & Record<string, unknown>): Promise<CompletedNodeWebhook>;
}
