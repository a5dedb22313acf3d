// Real bytes for the emulator's output files: a small valid PNG, WAV and MP4 (what its image,
// audio and video models "make"), and any number of bytes, generated as they are sent, for
// tests and benchmarks of large downloads.
import { pngFile } from './png';

/** An 8x8 RGB PNG, a gradient. */
function png(): Buffer {
  const size = 8;
  const rows = Buffer.alloc(size * (1 + size * 3));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) rows.set([x * 32, y * 32, 128], y * (1 + size * 3) + 1 + x * 3);
  }
  return pngFile(size, size, 2, rows); // 8-bit RGB
}

/** A tenth of a second of a 440 Hz tone: 16-bit mono PCM at 8 kHz. */
function wav(): Buffer {
  const rate = 8000;
  const samples = rate / 10;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 8000), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, 'ascii');
  return Buffer.concat([head, body]);
}

/** An MP4 container with no tracks: ftyp, an empty mdat and a moov holding its movie header. */
function mp4(): Buffer {
  const ftyp = box('ftyp', Buffer.from('isom', 'ascii'), Buffer.from([0, 0, 2, 0]), Buffer.from('isomiso2mp41', 'ascii'));
  const mvhd = Buffer.alloc(100);
  mvhd.writeUInt32BE(1000, 12); // timescale
  mvhd.writeUInt32BE(0x00010000, 20); // rate 1.0
  mvhd.writeUInt16BE(0x0100, 24); // volume 1.0
  [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000].forEach((value, i) => mvhd.writeUInt32BE(value, 36 + i * 4));
  mvhd.writeUInt32BE(1, 96); // next track id
  return Buffer.concat([ftyp, box('mdat'), box('moov', box('mvhd', mvhd))]);
}

export interface SampleFile {
  contentType: string;
  extension: string;
  bytes: Buffer;
}

export const SAMPLES = {
  image: { contentType: 'image/png', extension: 'png', bytes: png() },
  audio: { contentType: 'audio/wav', extension: 'wav', bytes: wav() },
  video: { contentType: 'video/mp4', extension: 'mp4', bytes: mp4() },
  other: { contentType: 'text/plain', extension: 'txt', bytes: Buffer.from('Emulated output file\n') },
} satisfies Record<string, SampleFile>;

export type SampleKind = keyof typeof SAMPLES;

const KIND_OF_EXTENSION: Record<string, SampleKind> = {
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  webp: 'image',
  gif: 'image',
  bmp: 'image',
  wav: 'audio',
  mp3: 'audio',
  ogg: 'audio',
  flac: 'audio',
  m4a: 'audio',
  mp4: 'video',
  webm: 'video',
  mov: 'video',
};

/** Which sample a file name stands for, by its extension; undefined for files the emulator does not make. */
export function sampleKindOf(name: string): SampleKind | undefined {
  const extension = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return extension ? KIND_OF_EXTENSION[extension] : undefined;
}

export const GENERATED_CHUNK_BYTES = 64 * 1024;
const PATTERN = Buffer.from(Array.from({ length: GENERATED_CHUNK_BYTES + 251 }, (_, i) => i % 251));

/** Bytes from `offset` of a generated file (at most 64 KiB): a repeating pattern, so no file needs to be held. */
export function generatedChunk(offset: number, length: number): Buffer {
  const start = offset % 251;
  return PATTERN.subarray(start, start + Math.min(length, GENERATED_CHUNK_BYTES));
}
