// Which parts of a prediction's output are files: every string, at any depth, that is entirely a
// data: URL or an http(s) URL. A URL on a host that is not allowed fails the whole set, naming the
// host, before any download starts.
import type { FileHosts } from './file-hosts';

const DATA_URL = /^data:[^,]*,/i;
const HTTP_URL = /^https?:\/\/[^\s]+$/i;

function isUrl(text: string): boolean {
  if (!HTTP_URL.test(text)) return false;
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

/** The output's file URLs in output order (depth first); throws for one on a host that is not allowed. */
export function findOutputFiles(output: unknown, hosts: FileHosts): string[] {
  const urls: string[] = [];
  const pending: unknown[] = [output];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (DATA_URL.test(value)) urls.push(value);
      else if (isUrl(value)) {
        hosts.check(value);
        urls.push(value);
      }
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) pending.push(value[i]);
    } else if (typeof value === 'object' && value !== null) {
      pending.push(...(Object.values(value) as unknown[]).reverse());
    }
  }
  return urls;
}
