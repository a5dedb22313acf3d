// Just enough PNG for the emulator's image models to use their input: read an 8-bit,
// non-interlaced PNG of any colour type into RGBA pixels, scale it, and write it back.
import { crc32, deflateSync, inflateSync } from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** 4 bytes a pixel, row by row. */
  rgba: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Bytes a pixel takes, by colour type: grey, RGB, palette, grey+alpha, RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** A PNG file of 8-bit pixels of `colorType`, not interlaced: `rows` are its scanlines, each after its filter type byte. */
export function pngFile(width: number, height: number, colorType: number, rows: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, colorType, 0, 0, 0], 8);
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** An RGBA PNG of the image (filter type 0 on every row). */
export function encodePng(image: Image): Buffer {
  const stride = image.width * 4;
  const rows = Buffer.alloc(image.height * (stride + 1));
  for (let y = 0; y < image.height; y++) image.rgba.copy(rows, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return pngFile(image.width, image.height, 6, rows);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The image a PNG holds, or undefined for what this reader does not take (16-bit, interlaced, broken) or beyond maxPixels. */
export function decodePng(bytes: Buffer, maxPixels: number): Image | undefined {
  try {
    return decode(bytes, maxPixels);
  } catch {
    return undefined; // a chunk shorter than its type needs: broken
  }
}

function decode(bytes: Buffer, maxPixels: number): Image | undefined {
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(SIGNATURE)) return undefined;
  let width = 0;
  let height = 0;
  let colorType = -1;
  let palette: Buffer = Buffer.alloc(0);
  let transparency: Buffer = Buffer.alloc(0);
  const data: Buffer[] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('ascii', at + 4, at + 8);
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (body.length !== length) return undefined;
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, color, , , interlace] = body.subarray(8, 13);
      if (depth !== 8 || interlace !== 0 || color === undefined || CHANNELS[color] === undefined) return undefined;
      colorType = color;
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') transparency = body;
    else if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  const channels = CHANNELS[colorType];
  if (!channels || width === 0 || height === 0 || width * height > maxPixels) return undefined;
  const stride = width * channels;
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(data), { maxOutputLength: height * (stride + 1) });
  } catch {
    return undefined;
  }
  if (raw.length !== height * (stride + 1)) return undefined;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x]!;
      const left = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const upLeft = y > 0 && x >= channels ? pixels[(y - 1) * stride + x - channels]! : 0;
      const predicted = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter ?? 0];
      if (predicted === undefined) return undefined;
      pixels[y * stride + x] = (value + predicted) & 0xff;
    }
  }
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const p = pixels.subarray(i * channels, (i + 1) * channels);
    let rgbaPixel: number[];
    if (colorType === 0) rgbaPixel = [p[0]!, p[0]!, p[0]!, 255];
    else if (colorType === 2) rgbaPixel = [p[0]!, p[1]!, p[2]!, 255];
    else if (colorType === 3) {
      const index = p[0]!;
      rgbaPixel = [palette[index * 3] ?? 0, palette[index * 3 + 1] ?? 0, palette[index * 3 + 2] ?? 0, transparency[index] ?? 255];
    } else if (colorType === 4) rgbaPixel = [p[0]!, p[0]!, p[0]!, p[1]!];
    else rgbaPixel = [p[0]!, p[1]!, p[2]!, p[3]!];
    rgba.set(rgbaPixel, i * 4);
  }
  return { width, height, rgba };
}

/** The image `factor` times as wide and as high, each pixel repeated (nearest neighbour). */
export function scaleImage(image: Image, factor: number): Image {
  const width = Math.max(1, Math.round(image.width * factor));
  const height = Math.max(1, Math.round(image.height * factor));
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sourceY = Math.min(image.height - 1, Math.floor(y / factor));
    for (let x = 0; x < width; x++) {
      const sourceX = Math.min(image.width - 1, Math.floor(x / factor));
      image.rgba.copy(rgba, (y * width + x) * 4, (sourceY * image.width + sourceX) * 4, (sourceY * image.width + sourceX) * 4 + 4);
    }
  }
  return { width, height, rgba };
}
