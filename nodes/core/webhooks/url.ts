// The URL a create node gives Replicate for a prediction completed node: the config node's public URL (with
// the httpNodeAuth user and password it may carry), Node-RED's httpNodeRoot, that node's path,
// the correlation key, and (shared-secret mode) a token derived from the secret for this key alone.
import { InputError } from '../http';
import { derivedToken } from './shared-secret';

export interface WebhookUrlParts {
  publicUrl: string;
  nodeRoot?: string;
  path: string;
  correlation: string;
  sharedSecret?: string;
}

const trimSlashes = (text: string) => text.replace(/^\/+|\/+$/g, '');

export function webhookUrl(parts: WebhookUrlParts): string {
  let base: URL;
  try {
    base = new URL(parts.publicUrl);
  } catch {
    base = new URL('invalid:');
  }
  if (!parts.publicUrl || !/^https?:$/.test(base.protocol)) {
    throw new InputError('check.noPublicUrl');
  }
  const segments = [trimSlashes(base.pathname), trimSlashes(parts.nodeRoot ?? ''), trimSlashes(parts.path)].filter(Boolean);
  const url = new URL(base.href);
  url.pathname = `/${segments.join('/')}`;
  url.search = '';
  url.hash = '';
  url.searchParams.set('correlation', parts.correlation);
  if (parts.sharedSecret) url.searchParams.set('token', derivedToken(parts.sharedSecret, parts.correlation));
  return url.toString();
}

/**
 * The URL with the password of its userinfo shown as `***` (`https://user:***@host/...`), for
 * anything a person may see: Replicate echoes the webhook URL back in every prediction.
 */
export function maskPassword(url: string): string {
  if (!url.includes('@')) return url; // no userinfo, nothing to parse
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
