// The latest output images as a thumbnail under a create, get or prediction completed node in the
// editor, as node-red-contrib-image-output shows its images: the runtime publishes over
// RED.comms, resources/image-preview.js draws them into the node. What goes over the editor's
// websocket stays small: a URL where Replicate gave one (the browser loads it from there), an
// image as bytes only when it is a data: URL under PREVIEW_DATA_MAX, and never a token: no URL
// under the API base URL (those need the token), none with credentials in it.
import type { Node, NodeAPI } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';

export const PREVIEW_TOPIC = 'replicate-preview';
/** At most this many images of one prediction. */
export const PREVIEW_MAX_IMAGES = 4;
/** The largest data: URL sent to the editor, in characters (about 96 KB of image). */
export const PREVIEW_DATA_MAX = 128 * 1024;

const IMAGE_PATH = /\.(png|jpe?g|webp|gif|avif|bmp)$/i;
const IMAGE_DATA = /^data:image\/(png|jpeg|webp|gif|avif|bmp);base64,/i;

/** Where a node's account downloads files from, and its API (whose URLs need the token). */
export interface PreviewAccount {
  files: Core.FileFetcher;
  apiBaseUrl: URL;
}

/** The images of an output the editor may show: URLs and small data: URLs, in output order. */
export function previewImages(prediction: Core.Prediction, account: PreviewAccount | undefined): string[] {
  if (prediction.status !== 'succeeded' || !account) return [];
  let urls: string[];
  try {
    urls = core().findOutputFiles(prediction.output, account.files.hosts);
  } catch {
    return []; // a file on a host files are not downloaded from: not shown either
  }
  const { apiBaseUrl } = account;
  const api = `${apiBaseUrl.origin}${apiBaseUrl.pathname.replace(/\/*$/, '/')}`;
  return urls
    .filter((url) => {
      if (url.startsWith('data:')) return IMAGE_DATA.test(url) && url.length <= PREVIEW_DATA_MAX;
      const parsed = new URL(url);
      return !parsed.username && !parsed.password && IMAGE_PATH.test(parsed.pathname) && !url.startsWith(api);
    })
    .slice(0, PREVIEW_MAX_IMAGES);
}

/** A flow node's (or config node's) account for previews; undefined when it has none that works. */
export function previewAccount(
  account: { files(): Core.FileFetcher; client(): Core.ReplicateClient } | undefined,
): PreviewAccount | undefined {
  try {
    return account ? { files: account.files(), apiBaseUrl: account.client().baseUrl } : undefined;
  } catch {
    return undefined;
  }
}

/** Shows a finished prediction's images under the node when its settings say so; a prediction without images leaves the last ones. */
export function showPreview(
  RED: NodeAPI,
  node: Node,
  settings: { showImages: boolean; imageSize: number },
  prediction: Core.Prediction,
  account: () => PreviewAccount | undefined,
): void {
  if (!settings.showImages) return;
  const images = previewImages(prediction, account());
  if (images.length > 0) RED.comms.publish(PREVIEW_TOPIC, { id: node.id, images, size: settings.imageSize }, false);
}

/** Takes the images away when the node closes (redeployed, removed): they belonged to its old flow. */
export function clearPreview(RED: NodeAPI, node: Node): void {
  RED.comms.publish(PREVIEW_TOPIC, { id: node.id, images: [] }, false);
}
