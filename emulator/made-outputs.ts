// Outputs that show the model used its input, so a newcomer does not take the emulator for a
// broken model: an upscaler (an image input and a `scale`) returns its PNG scaled by `scale`, and a
// language model's answer starts by quoting the prompt. Everything else answers with its example.
import type { CatalogModel } from './catalog';
import type { FileStore } from './files-api';
import { sampleKindOf } from './sample-files';
import { decodePng, encodePng, scaleImage } from './png';
import { streamsText } from './streams';

/** The largest image an upscaler makes (4 megapixels, 16 MB of pixels to scale and compress): more falls back to the sample image. */
const MAX_OUTPUT_PIXELS = 4 * 1024 * 1024;
/** At most this much of a prompt is quoted. */
const MAX_QUOTED_CHARS = 200;

export interface MadeOutput {
  output: unknown;
  files?: Map<string, { contentType: string; bytes: Buffer }>;
}

interface InputProperty {
  type?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

function inputProperties(model: CatalogModel): Record<string, InputProperty> {
  const schema = model.latest_version?.openapi_schema as { components?: { schemas?: { Input?: { properties?: unknown } } } } | undefined;
  const properties = schema?.components?.schemas?.Input?.properties;
  return typeof properties === 'object' && properties !== null ? (properties as Record<string, InputProperty>) : {};
}

/** The output a run of `model` with `input` makes, given the output its example had (already local). */
export function madeOutput(model: CatalogModel, input: Record<string, unknown>, exampleOutput: unknown, files: FileStore): MadeOutput {
  if (typeof input.prompt === 'string' && streamsText(model) && Array.isArray(exampleOutput)) {
    const prompt = input.prompt.length > MAX_QUOTED_CHARS ? `${input.prompt.slice(0, MAX_QUOTED_CHARS)}…` : input.prompt;
    const quoted = prompt.split(/(?=\s)/).filter(Boolean);
    return { output: ['You', ' asked', ':', ' "', ...quoted, '"', '.', ' (emulated answer)', '\n\n', ...(exampleOutput as unknown[])] };
  }
  const scale = inputProperties(model).scale;
  if (scale?.type === 'number' || scale?.type === 'integer')
    return upscaled(input, scale, exampleOutput, files) ?? { output: exampleOutput };
  return { output: exampleOutput };
}

function upscaled(input: Record<string, unknown>, scale: InputProperty, exampleOutput: unknown, files: FileStore): MadeOutput | undefined {
  const factor = typeof input.scale === 'number' ? input.scale : typeof scale.default === 'number' ? scale.default : 1;
  const names = (Array.isArray(exampleOutput) ? exampleOutput : [exampleOutput]).filter(
    (url): url is string => typeof url === 'string' && sampleKindOf(url) === 'image',
  );
  const image = files.received(input).find((file) => file.contentType === 'image/png' || file.bytes.subarray(1, 4).toString() === 'PNG');
  if (!image || names.length === 0 || !(factor > 0)) return undefined;
  const decoded = decodePng(image.bytes, MAX_OUTPUT_PIXELS);
  if (!decoded || decoded.width * decoded.height * factor * factor > MAX_OUTPUT_PIXELS) return undefined;
  const bytes = encodePng(scaleImage(decoded, factor));
  const made = new Map(names.map((url) => [decodeURIComponent(url.split('/').pop() ?? ''), { contentType: 'image/png', bytes }]));
  return { output: exampleOutput, files: made };
}
