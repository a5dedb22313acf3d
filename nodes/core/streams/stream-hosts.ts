// Which hosts a prediction's event stream is read from. `urls.stream` comes in an API answer, but
// it is followed like an output file's URL: only to the API's own host, Replicate's hosts and the
// hosts a user listed in "Also download from", and only over https (plain http only when the API
// itself is plain http on this machine: the local emulator serves its streams on another port of
// that host, so there the port is not checked).
import { InputError, isLoopbackHost } from '../http';
import { FileHosts } from '../files';

/** Replicate streams from hosts under these (a recorded one: streaming-api.svc.us.c.replicate.net). */
const REPLICATE_STREAM_HOSTS = ['*.replicate.com', '*.replicate.net'];

export class StreamHosts {
  /** replicate.delivery and its subdomains, the API's host and the listed ones, plus Replicate's stream hosts. */
  private readonly hosts: FileHosts;
  private readonly plainHttp: boolean;

  constructor(apiBaseUrl: URL, alsoDownloadFrom: readonly string[] = []) {
    this.hosts = new FileHosts(apiBaseUrl, [...alsoDownloadFrom, ...REPLICATE_STREAM_HOSTS]);
    this.plainHttp = apiBaseUrl.protocol === 'http:' && isLoopbackHost(apiBaseUrl.hostname);
  }

  /** The URL when the stream may be read there; else an InputError naming its host, before any request. */
  check(text: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new InputError('streams.hostNotAllowed', { host: text.slice(0, 100) });
    }
    if (!this.hosts.allows(url.hostname)) throw new InputError('streams.hostNotAllowed', { host: url.hostname });
    if (url.protocol === 'https:') return url;
    if (url.protocol === 'http:' && this.plainHttp && isLoopbackHost(url.hostname)) return url;
    throw new InputError('streams.notHttps', { host: url.hostname });
  }
}
