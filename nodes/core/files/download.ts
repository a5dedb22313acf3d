// Downloads output files: streamed, at most the largest download held in memory for all files of
// one prediction together (the download passing it stops there), each URL once however often the
// output lists it, at most 100 files, retried on 5xx and dropped connections, with progress. It
// has its own connections and never holds the API token: a file host is not Replicate's API.
import { Agent, type Dispatcher } from 'undici';
import {
  DEFAULT_RETRY,
  InputError,
  ReplicateError,
  USER_AGENT,
  abortedError,
  errorFromNetwork,
  errorVar,
  pauseBeforeRetry,
  retryDelayMs,
  type CallOptions,
  type Prediction,
} from '../http';
import { contentTypeOfExtension, detectContentType, OCTET_STREAM } from './content-type';
import { FileHosts } from './file-hosts';
import { outputFileName } from './file-names';
import { findOutputFiles } from './output-files';

export interface DownloadedFile {
  url: string;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
}

export interface FileFetcherOptions {
  apiBaseUrl: URL;
  alsoDownloadFrom?: readonly string[];
  /** The most bytes downloaded for one prediction, all its files together. */
  maxBytes: number;
  timeoutMs?: number;
  maxRetries?: number;
}

export interface DownloadOptions extends CallOptions {
  /** Bytes received of the file being downloaded (its size when the host said it), and its place among the downloads. */
  onProgress?: (received: number, total: number | undefined, index: number, count: number) => void;
}

const MAX_REDIRECTS = 5;

/** More output files than this in one prediction are refused before any download. */
export const MAX_OUTPUT_FILES = 100;

/** base64 as data: URLs carry it (the URL-safe alphabet too), whitespace taken out; a length of 4n+1 is never whole. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** A download that may succeed if tried again: a 5xx or a dropped connection. */
class Retryable extends Error {
  constructor(override readonly cause: ReplicateError) {
    super(cause.message);
  }
}

export class FileFetcher {
  readonly hosts: FileHosts;
  readonly maxBytes: number;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;

  constructor(options: FileFetcherOptions) {
    this.hosts = new FileHosts(options.apiBaseUrl, options.alsoDownloadFrom);
    this.maxBytes = options.maxBytes;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? DEFAULT_RETRY.maxRetries;
    this.agent = new Agent({
      connectTimeout: Math.min(this.timeoutMs, 10_000),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  /**
   * Every output file of a succeeded prediction, in output order; undefined for a prediction that
   * did not succeed or has none (it goes out as it is).
   */
  async outputFilesOf(prediction: Prediction, options: DownloadOptions = {}): Promise<DownloadedFile[] | undefined> {
    if (prediction.status !== 'succeeded') return undefined;
    const urls = findOutputFiles(prediction.output, this.hosts);
    if (urls.length === 0) return undefined;
    if (urls.length > MAX_OUTPUT_FILES) {
      throw new ReplicateError(
        'files.tooManyOutputs',
        { files: urls.length, max: MAX_OUTPUT_FILES },
        { code: 'bad-response', retryable: false },
      );
    }
    // A URL listed again is the same file: downloaded once, its bytes shared.
    const distinct = [...new Set(urls)];
    const byUrl = new Map<string, DownloadedFile>();
    let left = this.maxBytes;
    for (const [index, url] of distinct.entries()) {
      const file = await this.download(url, urls.indexOf(url), index, distinct.length, options, left);
      left -= file.size;
      byUrl.set(url, file);
    }
    return urls.map((url, index) => {
      const file = byUrl.get(url)!;
      return { ...file, filename: outputFileName(url, file.contentType, index) };
    });
  }

  /**
   * One file: a data: URL decoded, an http(s) URL on an allowed host downloaded. `index` is its
   * place in the output (for its name), `done` and `count` its place among the downloads (for
   * progress); `allowance` the bytes the prediction may still download.
   */
  async download(
    url: string,
    index: number,
    done: number,
    count: number,
    options: DownloadOptions = {},
    allowance = this.maxBytes,
  ): Promise<DownloadedFile> {
    const limit = new Limit(this.maxBytes, allowance);
    if (url.startsWith('data:')) return this.decode(url, index, limit);
    const checked = this.hosts.check(url);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetchOnce(checked, url, index, done, count, options, limit);
      } catch (caught) {
        if (!(caught instanceof Retryable)) throw caught;
        if (attempt >= this.maxRetries || options.signal?.aborted) throw caught.cause;
        const delayMs = retryDelayMs(caught.cause, attempt, DEFAULT_RETRY);
        options.onRetry?.({ attempt: attempt + 1, delayMs, error: caught.cause });
        await pauseBeforeRetry(delayMs, options.signal);
      }
    }
  }

  close(): Promise<void> {
    return this.agent.destroy().catch(() => undefined);
  }

  private decode(url: string, index: number, limit: Limit): DownloadedFile {
    const comma = url.indexOf(',');
    const meta = url.slice(5, comma);
    const base64 = /;base64$/i.test(meta);
    const declared = meta
      .replace(/;base64$/i, '')
      .split(';')[0]!
      .trim();
    const payload = base64 ? url.slice(comma + 1).replace(/\s+/g, '') : url.slice(comma + 1);
    // base64 holds 3 bytes in 4 characters: a data: URL too large is refused before it is decoded
    const estimate = base64 ? Math.floor((payload.length * 3) / 4) : payload.length;
    limit.check(estimate, `output-${index}`);
    // Buffer.from skips what is not base64: a broken output would become a short or empty file
    if (base64 && (!BASE64.test(payload) || payload.length % 4 === 1)) throw new InputError('files.badDataUrl', { index: index + 1 });
    let data: Buffer;
    try {
      data = base64 ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'utf8');
    } catch {
      throw new InputError('files.badDataUrl', { index: index + 1 });
    }
    limit.check(data.length, `output-${index}`);
    const contentType = declared && declared.toLowerCase() !== OCTET_STREAM ? declared : detectContentType(data);
    return { url, filename: outputFileName(url, contentType, index), contentType, size: data.length, data };
  }

  private async fetchOnce(
    start: URL,
    url: string,
    index: number,
    done: number,
    count: number,
    options: DownloadOptions,
    limit: Limit,
  ): Promise<DownloadedFile> {
    let target = start;
    const name = outputFileName(url, OCTET_STREAM, index);
    for (let redirects = 0; ; redirects++) {
      let response: Dispatcher.ResponseData;
      try {
        response = await this.agent.request({
          origin: target.origin,
          path: target.pathname + target.search,
          method: 'GET',
          headers: { 'user-agent': USER_AGENT, accept: '*/*' },
          signal: options.signal,
        });
      } catch (err) {
        throw this.networkFailure(err, target, name, options.signal);
      }
      const { statusCode, headers, body } = response;
      if (statusCode >= 300 && statusCode < 400 && typeof headers.location === 'string' && redirects < MAX_REDIRECTS) {
        body.resume();
        target = this.hosts.check(new URL(headers.location, target).toString());
        continue;
      }
      if (statusCode === 404 || statusCode === 410) {
        body.resume();
        // what an output file answers once Replicate has removed it, about an hour after the prediction ended
        throw new ReplicateError(
          'removed.file',
          { name, status: statusCode },
          { code: 'data-removed', status: statusCode, retryable: false },
        );
      }
      if (statusCode < 200 || statusCode >= 300) {
        body.resume();
        const err = new ReplicateError(
          'files.downloadHttp',
          { name, status: statusCode },
          { code: statusCode >= 500 ? 'server' : 'http', status: statusCode, retryable: statusCode >= 500 },
        );
        throw statusCode >= 500 ? new Retryable(err) : err;
      }
      const length = Number(headers['content-length']);
      const total = Number.isFinite(length) && length >= 0 ? length : undefined;
      if (total !== undefined && total > limit.bytes) {
        body.destroy();
        throw limit.exceeded(total, name);
      }
      const data = await this.readBody(body, total, name, target, done, count, options, limit);
      const header = typeof headers['content-type'] === 'string' ? headers['content-type'].split(';')[0]!.trim() : '';
      const extension = /\.([A-Za-z0-9]{1,10})$/.exec(target.pathname)?.[1];
      const detected = detectContentType(data);
      const contentType =
        header && header.toLowerCase() !== OCTET_STREAM
          ? header
          : detected !== OCTET_STREAM
            ? detected
            : ((extension && contentTypeOfExtension(extension)) ?? OCTET_STREAM);
      return { url, filename: outputFileName(url, contentType, index), contentType, size: data.length, data };
    }
  }

  /** The body, into one buffer of its announced size when known; never more than the limit. */
  private async readBody(
    body: Dispatcher.ResponseData['body'],
    total: number | undefined,
    name: string,
    target: URL,
    done: number,
    count: number,
    options: DownloadOptions,
    limit: Limit,
  ): Promise<Buffer> {
    const whole = total !== undefined ? Buffer.allocUnsafe(total) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (received + chunk.length > (total ?? limit.bytes)) {
          body.destroy();
          if (total === undefined) throw limit.exceeded(received + chunk.length, name);
          throw new Retryable(this.interrupted(name, target, 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'));
        }
        if (whole) chunk.copy(whole, received);
        else chunks.push(chunk);
        received += chunk.length;
        options.onProgress?.(received, total, done, count);
      }
    } catch (err) {
      if (err instanceof ReplicateError || err instanceof Retryable) throw err;
      throw this.networkFailure(err, target, name, options.signal);
    }
    if (whole) {
      if (received !== total) throw new Retryable(this.interrupted(name, target, 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'));
      return whole;
    }
    return Buffer.concat(chunks, received);
  }

  private interrupted(name: string, target: URL, code: string): ReplicateError {
    const cause = errorFromNetwork({ code }, target.host, this.timeoutMs);
    return new ReplicateError('files.downloadFailed', { name, error: errorVar(cause) }, { code: 'network', retryable: true });
  }

  private networkFailure(err: unknown, target: URL, name: string, signal: AbortSignal | undefined): Error {
    if (signal?.aborted) return abortedError();
    const cause = errorFromNetwork(err, target.host, this.timeoutMs);
    if (cause.code === 'aborted') return cause;
    const framed = new ReplicateError(
      'files.downloadFailed',
      { name, error: errorVar(cause) },
      { code: cause.code, retryable: cause.retryable },
    );
    return cause.retryable ? new Retryable(framed) : framed;
  }
}

/** The bytes one file may still take: the largest download, less what the prediction's other files took. */
class Limit {
  readonly bytes: number;

  constructor(
    private readonly max: number,
    allowance: number,
  ) {
    this.bytes = Math.min(max, allowance);
  }

  /** Throws, naming the file, when `size` bytes are more than it may take. */
  check(size: number, name: string): void {
    if (size > this.bytes) throw this.exceeded(size, name);
  }

  /** The error for a file of `size` bytes, more than it may take: past the largest download alone, or past what is left of it. */
  exceeded(size: number, name: string): ReplicateError {
    const vars = { name, max: Math.round(this.max / 1_000_000) };
    return new ReplicateError(size > this.max ? 'files.tooLargeToDownload' : 'files.tooMuchToDownload', vars, {
      code: 'bad-response',
      retryable: false,
    });
  }
}
