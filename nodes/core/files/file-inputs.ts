// Files in a model input: every Buffer or Uint8Array, at any depth of the input, is a file. Small
// ones go inline as data: URLs, larger ones are uploaded with the files API and their URL takes
// their place. Sizes are checked before anything is sent, and the uploads happen here, once per
// message, before the create: a create that is retried never uploads again. An upload retried
// after its answer was lost may have been stored twice: each upload carries a tag in its
// metadata, and the copies the tag finds in GET /files, other than the one kept, are deleted.
import { randomUUID } from 'crypto';
import { cursorFromNext, InputError, ReplicateError, type CallOptions, type ReplicateClient, type ReplicateFile } from '../http';
import { detectContentType, extensionFor } from './content-type';

/** Replicate's files API takes files of up to 100 MiB. */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

/** The metadata key of an upload's tag: one per file uploaded, the same in each attempt of its upload. */
export const UPLOAD_TAG = 'node_red_upload';

/** Pages of GET /files (newest first) looked through for copies of a retried upload: they are among the newest. */
const MAX_LOST_COPY_PAGES = 3;

export interface FileInputOptions extends CallOptions {
  /** Files of up to this many bytes go inline as data: URLs; larger ones are uploaded. */
  inlineLimit: number;
  /** Bytes sent of the uploads, of all their bytes. */
  onProgress?: (sent: number, total: number) => void;
}

export interface PreparedInput {
  /** The input with a URL in place of each file; the same object when it holds none. */
  input: Record<string, unknown>;
  /** The ids of the files uploaded for it, to delete once the prediction has finished. */
  uploaded: string[];
}

interface FoundFile {
  /** Where it sits: keys and indexes from the input's top. */
  path: Array<string | number>;
  data: Uint8Array;
}

/** A Buffer or a Uint8Array, also one made in another realm (a function node's sandbox). */
export function isFileData(value: unknown): value is Uint8Array {
  return typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Uint8Array]';
}

const isContainer = (value: unknown): value is Record<string, unknown> | unknown[] =>
  typeof value === 'object' &&
  value !== null &&
  (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/** "image", "images[1]", "frames.first": a file's place, for messages. */
function fieldName(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>((name, part) => (typeof part === 'number' ? `${name}[${part}]` : name ? `${name}.${part}` : part), '');
}

/** A place in the input, linked to its parent: paths are spelled out only for the files found (inputs may nest 10,000 deep). */
interface Place {
  value: unknown;
  key?: string | number;
  parent?: Place;
}

function pathOf(place: Place): Array<string | number> {
  const path: Array<string | number> = [];
  for (let at: Place | undefined = place; at?.parent; at = at.parent) path.push(at.key!);
  return path.reverse();
}

/** Every file in the input; walked without recursion, so a deeply nested input cannot overflow the stack. */
function findFiles(input: Record<string, unknown>): FoundFile[] {
  const found: FoundFile[] = [];
  const pending: Place[] = [{ value: input }];
  const seen = new Set<object>();
  while (pending.length > 0) {
    const place = pending.pop()!;
    const { value } = place;
    if (isFileData(value)) found.push({ path: pathOf(place), data: value });
    else if (isContainer(value) && !seen.has(value)) {
      seen.add(value);
      if (Array.isArray(value)) value.forEach((item, index) => pending.push({ value: item, key: index, parent: place }));
      else for (const [key, item] of Object.entries(value)) pending.push({ value: item, key, parent: place });
    }
  }
  return found.reverse();
}

/** The input with `value` at `path`, copying only the objects and arrays on the way (the message's own stay as they are). */
function replaceAt(root: Record<string, unknown>, path: ReadonlyArray<string | number>, value: string, copies: Map<object, object>) {
  let copy = copies.get(root) as Record<string, unknown> | undefined;
  if (!copy) copies.set(root, (copy = { ...root }));
  let parent: Record<string | number, unknown> = copy;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) {
      parent[key] = value;
      break;
    }
    const original = parent[key] as object;
    let child = copies.get(original);
    if (!child) copies.set(original, (child = Array.isArray(original) ? [...(original as unknown[])] : { ...original }));
    parent[key] = child;
    parent = child as Record<string | number, unknown>;
  }
  return copy;
}

/**
 * The input with each file as an empty string: what JSON checks of it should look at (a Buffer's
 * JSON spells out every byte as a number, which for a large file takes seconds and gigabytes).
 */
export function withoutFileData(input: Record<string, unknown>): Record<string, unknown> {
  const files = findFiles(input);
  const copies = new Map<object, object>();
  let stripped = input;
  for (const file of files) stripped = replaceAt(input, file.path, '', copies);
  return stripped;
}

/** A file as a data: URL. */
export function dataUrl(data: Uint8Array, contentType: string): string {
  return `data:${contentType};base64,${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64')}`;
}

function refuseTooLarge(files: FoundFile[]): void {
  for (const file of files) {
    if (file.data.byteLength > MAX_UPLOAD_BYTES) {
      throw new InputError('files.tooLargeToSend', { field: fieldName(file.path), size: Math.ceil(file.data.byteLength / (1024 * 1024)) });
    }
  }
}

/** Whether an upload attempt that failed so may have stored the file: all but a refusal (4xx) or a request never sent. */
function mayHaveStored(err: unknown): boolean {
  if (!(err instanceof ReplicateError)) return true;
  return !err.notSent && !(err.status !== undefined && err.status >= 400 && err.status < 500);
}

function isTagged(file: ReplicateFile, tag: string): boolean {
  const metadata = file.metadata;
  return typeof metadata === 'object' && metadata !== null && (metadata as Record<string, unknown>)[UPLOAD_TAG] === tag;
}

/**
 * Deletes the files tagged `tag` except `keep`: copies stored by attempts whose answer was lost, at
 * most `most` of them (one per such attempt), looked for on the newest pages of GET /files.
 */
async function deleteLostCopies(client: ReplicateClient, tag: string, keep: string | undefined, most: number): Promise<void> {
  let found = 0;
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_LOST_COPY_PAGES && found < most; pages++) {
    const page = await client.listFiles({ cursor });
    const copies = page.results.filter((file) => file.id !== keep && isTagged(file, tag));
    found += copies.length;
    await Promise.allSettled(copies.map((file) => client.deleteFile(file.id)));
    const next = cursorFromNext(page.next);
    if (next === null) return;
    cursor = next;
  }
}

/** Fails, naming the field, when a file of the input is larger than Replicate takes: before any request, even the schema's. */
export function checkFileSizes(input: Record<string, unknown>): void {
  refuseTooLarge(findFiles(input));
}

/**
 * The input ready to send: each file inline or uploaded. A file over 100 MiB fails the message,
 * naming its field, before anything is sent.
 */
export async function prepareFileInputs(
  client: ReplicateClient,
  input: Record<string, unknown>,
  options: FileInputOptions,
): Promise<PreparedInput> {
  const files = findFiles(input);
  if (files.length === 0) return { input, uploaded: [] };
  refuseTooLarge(files);
  const uploads = files.filter((file) => file.data.byteLength > options.inlineLimit);
  const total = uploads.reduce((sum, file) => sum + file.data.byteLength, 0);
  let done = 0;
  const uploaded: string[] = [];
  const copies = new Map<object, object>();
  let prepared = input;
  for (const file of files) {
    const contentType = detectContentType(file.data);
    let url: string;
    if (file.data.byteLength <= options.inlineLimit) url = dataUrl(file.data, contentType);
    else {
      const filename = `${fieldName(file.path).replace(/[^A-Za-z0-9_-]+/g, '-')}.${extensionFor(contentType)}`;
      const before = done;
      const tag = randomUUID();
      let lostAnswers = 0;
      const created = await client
        .uploadFile(
          { data: file.data, filename, contentType, metadata: { [UPLOAD_TAG]: tag } },
          {
            signal: options.signal,
            onRetry: (retry) => {
              if (mayHaveStored(retry.error)) lostAnswers++;
              options.onRetry?.(retry);
            },
            onProgress: (sent) => options.onProgress?.(before + sent, total),
          },
        )
        .catch(async (err: unknown) => {
          // the message fails: the files uploaded for it so far, and any copy of this one, will never be read
          if (mayHaveStored(err)) lostAnswers++;
          await Promise.allSettled([
            ...uploaded.map((id) => client.deleteFile(id)),
            lostAnswers > 0 ? deleteLostCopies(client, tag, undefined, lostAnswers) : undefined,
          ]);
          throw err;
        });
      if (lostAnswers > 0) await deleteLostCopies(client, tag, created.id, lostAnswers).catch(() => undefined);
      done += file.data.byteLength;
      uploaded.push(created.id);
      url = created.urls.get;
    }
    prepared = replaceAt(input, file.path, url, copies);
  }
  return { input: prepared, uploaded };
}
