// What a file is, from its first bytes: a small table of signatures (file-type, the library that
// does this, is ESM-only and cannot be required from these CommonJS nodes), and the extension
// that goes with each content type, for file names.

interface Signature {
  type: string;
  /** Bytes at `offset`; null matches any byte. */
  bytes: ReadonlyArray<number | null>;
  offset?: number;
  /** A second run of bytes that must match too (RIFF....WAVE). */
  also?: { bytes: readonly number[]; offset: number };
}

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

// Order matters where one signature is a prefix of another (RIFF: WAV or WebP; ftyp: MOV or MP4/M4A).
const SIGNATURES: readonly Signature[] = [
  { type: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { type: 'image/gif', bytes: ascii('GIF8') },
  { type: 'image/webp', bytes: ascii('RIFF'), also: { bytes: ascii('WEBP'), offset: 8 } },
  { type: 'audio/wav', bytes: ascii('RIFF'), also: { bytes: ascii('WAVE'), offset: 8 } },
  { type: 'image/bmp', bytes: ascii('BM') },
  { type: 'image/tiff', bytes: [0x49, 0x49, 0x2a, 0x00] },
  { type: 'image/tiff', bytes: [0x4d, 0x4d, 0x00, 0x2a] },
  { type: 'audio/mpeg', bytes: ascii('ID3') },
  { type: 'audio/ogg', bytes: ascii('OggS') },
  { type: 'audio/flac', bytes: ascii('fLaC') },
  { type: 'video/quicktime', bytes: ascii('ftypqt'), offset: 4 },
  { type: 'audio/mp4', bytes: ascii('ftypM4A'), offset: 4 },
  { type: 'video/mp4', bytes: ascii('ftyp'), offset: 4 },
  { type: 'video/webm', bytes: [0x1a, 0x45, 0xdf, 0xa3] },
  { type: 'application/pdf', bytes: ascii('%PDF-') },
  { type: 'application/zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { type: 'application/zip', bytes: [0x50, 0x4b, 0x05, 0x06] },
];

export const OCTET_STREAM = 'application/octet-stream';

function matches(data: Uint8Array, bytes: ReadonlyArray<number | null>, offset: number): boolean {
  if (data.length < offset + bytes.length) return false;
  return bytes.every((byte, i) => byte === null || data[offset + i] === byte);
}

/** An MP3 without an ID3 tag starts with a frame sync: 11 set bits. */
function isMpegFrame(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0xff && (data[1]! & 0xe0) === 0xe0 && (data[1]! & 0x06) !== 0;
}

/** The content type the bytes show; application/octet-stream when none is known. */
export function detectContentType(data: Uint8Array): string {
  for (const signature of SIGNATURES) {
    if (!matches(data, signature.bytes, signature.offset ?? 0)) continue;
    if (signature.also && !matches(data, signature.also.bytes, signature.also.offset)) continue;
    return signature.type;
  }
  return isMpegFrame(data) ? 'audio/mpeg' : OCTET_STREAM;
}

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/bmp': 'bmp',
  'image/tiff': 'tiff',
  'image/svg+xml': 'svg',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'audio/flac': 'flac',
  'audio/mp4': 'm4a',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/quicktime': 'mov',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'application/json': 'json',
  'text/plain': 'txt',
};

/** The usual extension of a content type (parameters ignored); "bin" when unknown. */
export function extensionFor(contentType: string): string {
  return EXTENSIONS[contentType.split(';')[0]!.trim().toLowerCase()] ?? 'bin';
}

/** The content type an extension names, for a server that sends none (or octet-stream). */
export function contentTypeOfExtension(extension: string): string | undefined {
  const wanted = extension.toLowerCase() === 'jpeg' ? 'jpg' : extension.toLowerCase();
  return Object.entries(EXTENSIONS).find(([, ext]) => ext === wanted)?.[0];
}
