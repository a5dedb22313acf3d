// Which hosts an output file may be downloaded from. A model's output is text a model wrote: a
// URL in it must not make Node-RED fetch an address on its own network, so only Replicate's file
// host, the API's own host and the hosts a user listed are reached, and only over https (plain
// http only when the API itself is plain http on this machine, as the local emulator is).
import { InputError, isLoopbackHost } from '../http';

/** Replicate serves output files from here and its subdomains. */
export const REPLICATE_FILE_HOST = 'replicate.delivery';

/** Host names from the config node's "Also download from": comma-, space- or newline-separated. */
export function parseHostList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((host) => host.trim().toLowerCase().replace(/\.$/, ''))
    .filter(Boolean);
}

/** A host name as a list may hold it: letters, digits, dots and dashes, or a leading "*." for its subdomains. */
export function isHostPattern(text: string): boolean {
  return /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(text);
}

export class FileHosts {
  private readonly apiHost: string;
  private readonly plainHttp: boolean;
  private readonly listed: readonly string[];

  constructor(apiBaseUrl: URL, alsoDownloadFrom: readonly string[] = []) {
    this.apiHost = apiBaseUrl.hostname.toLowerCase();
    this.plainHttp = apiBaseUrl.protocol === 'http:' && isLoopbackHost(this.apiHost);
    this.listed = alsoDownloadFrom.map((host) => host.toLowerCase());
  }

  /** Whether the host is one files are downloaded from. */
  allows(hostname: string): boolean {
    const host = hostname.toLowerCase().replace(/\.$/, '');
    if (host === REPLICATE_FILE_HOST || host.endsWith(`.${REPLICATE_FILE_HOST}`) || host === this.apiHost) return true;
    return this.listed.some((entry) => (entry.startsWith('*.') ? host.endsWith(entry.slice(1)) : host === entry));
  }

  /** The URL when a download may go there; else an InputError naming its host, before any request. */
  check(text: string): URL {
    const url = new URL(text);
    if (!this.allows(url.hostname)) throw new InputError('files.hostNotAllowed', { host: url.hostname });
    if (url.protocol === 'https:') return url;
    if (url.protocol === 'http:' && this.plainHttp && isLoopbackHost(url.hostname)) return url;
    throw new InputError('files.notHttps', { host: url.hostname });
  }
}
