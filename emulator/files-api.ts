// Replicate's files API: POST /files (multipart: content, filename, type, metadata as a field or
// a file part, as the JS client sends it), GET /files (paginated), GET and DELETE /files/{id}, and
// GET /files/{id}/download, signed instead of authenticated. A file expires a day after its
// upload, as Replicate's do; its urls.get is what a prediction input names, and fileInputs() tells
// tests the bytes that arrived.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Response } from 'undici';
import { notFound, problem, json, type ApiResponse } from './responses';
import type { ReceivedFile } from './types';

export const MAX_FILE_BYTES = 100 * 1024 * 1024;
const EXPIRY_MS = 24 * 60 * 60 * 1000;

export interface StoredFile {
  id: string;
  owner: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
  /** Hex digests, computed once: views repeat them and files reach 100 MB. */
  sha256: string;
  md5: string;
  metadata: unknown;
  createdAt: number;
  expiresAt: number;
  /** Scheme and host the uploading client used, for urls.get. */
  origin: string;
}

export class FileStore {
  private readonly byId = new Map<string, StoredFile>();
  /** The files API signing secret that download URLs are signed with. */
  private readonly signingKey = randomBytes(32);

  constructor(private readonly expiryMs = EXPIRY_MS) {}

  get(id: string, now = Date.now()): StoredFile | undefined {
    const file = this.byId.get(id);
    if (file && file.expiresAt <= now) this.byId.delete(id);
    return file && file.expiresAt > now ? file : undefined;
  }

  list(owner: string, now = Date.now()): StoredFile[] {
    return [...this.byId.values()].filter((file) => file.owner === owner && file.expiresAt > now).reverse();
  }

  all(): StoredFile[] {
    return [...this.byId.values()];
  }

  delete(id: string): boolean {
    return this.byId.delete(id);
  }

  clear(): void {
    this.byId.clear();
  }

  /** Reads a multipart upload; a problem response when it is not one Replicate would take. */
  async create(
    owner: string,
    contentTypeHeader: string | undefined,
    raw: Buffer,
    origin: string,
    now = Date.now(),
  ): Promise<StoredFile | ApiResponse> {
    if (raw.length > MAX_FILE_BYTES + 64 * 1024) return problem(413, undefined, 'Files must be less than 100MB in size');
    if (!contentTypeHeader?.startsWith('multipart/form-data')) {
      return problem(400, 'Invalid request', 'The request must be multipart/form-data.');
    }
    let form: Awaited<ReturnType<Response['formData']>>;
    try {
      form = await new Response(raw, { headers: { 'content-type': contentTypeHeader } }).formData();
    } catch {
      return problem(400, 'Invalid request', 'The multipart body could not be read.');
    }
    const content = form.get('content');
    if (content === null || typeof content === 'string') return problem(400, 'Invalid request', 'The content field is required.');
    const bytes = Buffer.from(await content.arrayBuffer());
    if (bytes.length > MAX_FILE_BYTES) return problem(413, undefined, 'Files must be less than 100MB in size');
    const filenameField = form.get('filename');
    const filename = typeof filenameField === 'string' && filenameField ? filenameField : (content as { name?: string }).name || 'file';
    if (Buffer.byteLength(filename) > 255) return problem(400, 'Invalid request', 'The filename must be at most 255 bytes.');
    const typeField = form.get('type');
    const metadataField = form.get('metadata');
    let metadata: unknown = {};
    if (metadataField !== null) {
      try {
        metadata = JSON.parse(typeof metadataField === 'string' ? metadataField : await metadataField.text());
      } catch {
        return problem(400, 'Invalid request', 'The metadata must be valid JSON.');
      }
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
        return problem(400, 'Invalid request', 'The metadata must be a JSON object.');
    }
    const file: StoredFile = {
      id: [...randomBytes(26)].map((byte) => 'abcdefghijklmnopqrstuvwxyz0123456789'[byte % 36]).join(''),
      owner,
      filename,
      contentType: typeof typeField === 'string' && typeField ? typeField : content.type || 'application/octet-stream',
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      md5: createHash('md5').update(bytes).digest('hex'),
      metadata,
      createdAt: now,
      expiresAt: now + this.expiryMs,
      origin,
    };
    this.byId.set(file.id, file);
    return file;
  }

  /** A download URL for the file, signed as Replicate signs them: HMAC-SHA256 of "{owner} {id} {expiry}". */
  downloadUrl(file: StoredFile, expiresInSeconds: number, now = Date.now()): string {
    const expiry = Math.floor(now / 1000) + Math.floor(expiresInSeconds);
    const url = new URL(`${file.origin}/v1/files/${file.id}/download`);
    url.searchParams.set('expiry', String(expiry));
    url.searchParams.set('owner', file.owner);
    url.searchParams.set('signature', this.sign(file.owner, file.id, expiry));
    return url.toString();
  }

  /** GET /files/{id}/download: the bytes, when the owner, expiry and signature hold. */
  download(id: string, query: URLSearchParams, now = Date.now()): ApiResponse {
    const owner = query.get('owner');
    const expiry = Number(query.get('expiry'));
    const signature = Buffer.from(query.get('signature') ?? '', 'base64');
    const file = this.get(id, now);
    if (owner === null || !Number.isInteger(expiry)) return problem(400, 'Invalid request', 'owner, expiry and signature are required.');
    const expected = Buffer.from(this.sign(owner, id, expiry), 'base64');
    const valid = signature.length === expected.length && timingSafeEqual(signature, expected);
    if (!valid || expiry * 1000 < now) return problem(403, 'Forbidden', 'The signature is invalid or has expired.');
    if (!file || file.owner !== owner) return problem(404, undefined, 'File not found');
    return { status: 200, body: '', bytes: file.bytes, contentType: file.contentType };
  }

  private sign(owner: string, id: string, expiry: number): string {
    return createHmac('sha256', this.signingKey).update(`${owner} ${id} ${expiry}`).digest('base64');
  }

  /** The bytes an input URL names: a data: URL, or an uploaded file of this emulator. */
  resolve(url: string, now = Date.now()): Omit<ReceivedFile, 'field'> | undefined {
    const data = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(url);
    if (data) {
      const bytes = data[2] ? Buffer.from(data[3]!, 'base64') : Buffer.from(decodeURIComponent(data[3]!), 'utf8');
      return { via: 'data-url', contentType: data[1] || 'text/plain', bytes };
    }
    const uploaded = /\/v1\/files\/([a-z0-9]+)$/.exec(url);
    const file = uploaded && this.get(uploaded[1]!, now);
    if (!file || !url.startsWith(file.origin)) return undefined;
    return { via: 'upload', contentType: file.contentType, bytes: file.bytes, fileId: file.id };
  }

  /** Every file among the input's values, at any depth. */
  received(input: unknown): ReceivedFile[] {
    const found: ReceivedFile[] = [];
    const walk = (value: unknown, field: string): void => {
      if (typeof value === 'string') {
        const file = this.resolve(value);
        if (file) found.push({ field, ...file });
      } else if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${field}.${i}`));
      else if (typeof value === 'object' && value !== null) {
        for (const [key, item] of Object.entries(value)) walk(item, field ? `${field}.${key}` : key);
      }
    };
    walk(input, '');
    return found;
  }
}

/** The file as the API shows it (schemas_file_response). */
export function fileView(file: StoredFile): Record<string, unknown> {
  return {
    id: file.id,
    name: file.filename,
    content_type: file.contentType,
    size: file.bytes.length,
    etag: file.md5,
    checksums: { sha256: file.sha256 },
    metadata: file.metadata,
    created_at: new Date(file.createdAt).toISOString(),
    expires_at: new Date(file.expiresAt).toISOString(),
    urls: { get: `${file.origin}/v1/files/${file.id}` },
  };
}

export function fileAnswer(file: StoredFile | undefined, status = 200): ApiResponse {
  return file ? json(status, fileView(file)) : notFound();
}
