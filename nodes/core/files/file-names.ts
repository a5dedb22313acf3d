// A name to save an output file under: the last segment of its URL, made safe to hand to a file
// out node (no folders, no "..", no control characters, at most 255 bytes), with an extension
// from its content type when it has none.
import { extensionFor } from './content-type';

const MAX_NAME_BYTES = 255;

function lastSegment(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return '';
  }
  const segment = path.split('/').pop() ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Cut to at most `max` UTF-8 bytes without splitting a character. */
function clipBytes(text: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > max) break;
    out += char;
    bytes += size;
  }
  return out;
}

/**
 * The file name for output file `index` (0-based) at `url`: data: URLs, and URLs whose last
 * segment leaves nothing usable, get output-<index>.<ext>.
 */
export function outputFileName(url: string, contentType: string, index: number): string {
  const raw = url.startsWith('data:') ? '' : lastSegment(url);
  // eslint-disable-next-line no-control-regex -- control characters are what is taken out
  let name = raw.replace(/[/\\\u0000-\u001f\u007f:*?"<>|]/g, '_').replace(/^[.\s]+|[.\s]+$/g, '');
  if (name === '' || /^_*$/.test(name)) name = `output-${index}`;
  const dot = name.lastIndexOf('.');
  let extension = dot > 0 ? name.slice(dot + 1) : '';
  if (!/^[A-Za-z0-9]{1,10}$/.test(extension)) {
    extension = extensionFor(contentType);
    name = `${name}.${extension}`;
  }
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name;
  const stem = name.slice(0, name.length - extension.length - 1);
  return `${clipBytes(stem, MAX_NAME_BYTES - extension.length - 1)}.${extension}`;
}
