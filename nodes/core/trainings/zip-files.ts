// Files for a trainer's zip input: an array of Buffers (images, say) becomes one zip, each file
// named from msg.filenames or, without names, by its detected type (image-1.jpg, image-2.png).
// The files are stored, not compressed: images are compressed already, and storing costs nothing.
import { zipSync, type Zippable } from 'fflate';
import { InputError } from '../http';
import { detectContentType, extensionFor, isFileData, MAX_UPLOAD_BYTES } from '../files';

/** Trainers want a dozen to a few hundred images; a list far longer is a mistake, not a data set. */
export const MAX_TRAINING_FILES = 1000;
const MAX_NAME_LENGTH = 120;

/** A file name made safe to put in a zip: no folders, no "..", no control characters. */
function safeName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex -- control characters are what is taken out
  const cleaned = base.replace(/[\u0000-\u001f\u007f:*?"<>|]/g, '_');
  return cleaned.replace(/^[.\s]+|[.\s]+$/g, '').slice(-MAX_NAME_LENGTH);
}

/** A list of files, each a Buffer or Uint8Array: what the training node zips. */
export function isFileList(value: unknown): value is Uint8Array[] {
  return Array.isArray(value) && value.length > 0 && value.every(isFileData);
}

/** The names the files get in the zip, unique, each with an extension (the file's type's when it has none). */
export function zipEntryNames(files: readonly Uint8Array[], filenames?: unknown): string[] {
  if (
    filenames !== undefined &&
    (!Array.isArray(filenames) || filenames.length !== files.length || !filenames.every((n) => typeof n === 'string'))
  )
    throw new InputError('training.filenames');
  const used = new Set<string>();
  return files.map((file, index) => {
    const extension = extensionFor(detectContentType(file));
    let name = filenames ? safeName(filenames[index] as string) : '';
    if (name === '') name = `image-${index + 1}.${extension}`;
    else if (!/\.[A-Za-z0-9]{1,10}$/.test(name)) name = `${name}.${extension}`;
    const dot = name.lastIndexOf('.');
    let unique = name;
    for (let n = 2; used.has(unique.toLowerCase()); n++) unique = `${name.slice(0, dot)}-${n}${name.slice(dot)}`;
    used.add(unique.toLowerCase());
    return unique;
  });
}

/** One zip of the files; `field` names the input in the sentence when they are too many or too large. */
export function zipFiles(files: readonly Uint8Array[], field: string, filenames?: unknown): Uint8Array {
  if (files.length > MAX_TRAINING_FILES) throw new InputError('training.tooManyFiles', { files: files.length, max: MAX_TRAINING_FILES });
  const total = files.reduce((sum, file) => sum + file.byteLength, 0);
  if (total > MAX_UPLOAD_BYTES) throw new InputError('files.tooLargeToSend', { field, size: Math.ceil(total / (1024 * 1024)) });
  const names = zipEntryNames(files, filenames);
  const entries: Zippable = {};
  files.forEach((file, index) => (entries[names[index]!] = [file, { level: 0 }]));
  return zipSync(entries);
}
