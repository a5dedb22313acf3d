// The create dialog's input form (resources/input-form.js), run in Node as the editor runs it, on
// the input schemas of real models from the emulator's catalog: image generation, upscalers and
// face restoration, speech and music, LLMs, video. The fields come from the same function the
// dialog's `schema` endpoint uses (inputFields), so what is tested is what the dialog shows.
import should from 'should';
import { loadCatalog } from '../../emulator/catalog';
import { fileFieldOf, inputFields, promptFieldOf, type InputField } from '../../nodes/core';
import { editorResource } from '../support/editor-script';

interface Widget {
  name: string;
  kind: 'text' | 'textarea' | 'number' | 'select' | 'checkbox' | 'file' | 'json';
  required: boolean;
  placeholder: string;
  uri: boolean;
  options?: string[];
  min?: number;
  max?: number;
  step?: number | 'any';
}
type Values = Record<string, { type: string; value: string }>;
type Stored = { input: Record<string, unknown>; inputFields: Record<string, { type: string; value: string }> };
interface InputForm {
  formFields(fields: InputField[]): Widget[];
  formValues(widgets: Widget[], input: Record<string, unknown>, inputFields: Stored['inputFields']): Values;
  formToInput(fields: InputField[], values: Values): Stored;
  dropStale(fields: InputField[], input: Record<string, unknown>, inputFields: Stored['inputFields']): Stored & { dropped: string[] };
  payloadField(fields: InputField[]): string | undefined;
  fileField(fields: InputField[]): string | undefined;
  acceptsText(widget: Widget, text: string): boolean;
}

/** Objects made in the script's own realm, as plain JSON here. */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value ?? null)) as T;

describe('the input form, from real model schemas', function () {
  this.timeout(20_000); // the catalog takes about a second to read
  const form = editorResource<InputForm>('input-form.js', 'replicateInputForm');
  const schemas = new Map<string, InputField[]>();

  before(async () => {
    const catalog = await loadCatalog();
    for (const ref of MODELS) {
      const [owner, name] = ref.split('/') as [string, string];
      const fields = inputFields(catalog.model(owner, name)?.latest_version?.openapi_schema);
      if (!fields) throw new Error(`${ref} has no input schema in the catalog`);
      schemas.set(ref, fields);
    }
  });

  const fieldsOf = (ref: string) => schemas.get(ref)!;
  /** name: kind[*] for each widget, in the form's order (* marks a required field). */
  const layout = (ref: string) => plain(form.formFields(fieldsOf(ref))).map((w) => `${w.name}: ${w.kind}${w.required ? '*' : ''}`);
  const widget = (ref: string, name: string) => plain(form.formFields(fieldsOf(ref))).find((w) => w.name === name)!;

  const MODELS = [
    'black-forest-labs/flux-schnell', // image generation, allOf/$ref enums
    'stability-ai/sdxl', // image generation, image-to-image files
    'recraft-ai/recraft-v3', // image generation, enums only
    'nightmareai/real-esrgan', // upscaler
    'tencentarc/gfpgan', // face restoration
    'cjwbw/rembg', // background removal, one optional file
    'openai/whisper', // speech to text
    'meta/musicgen', // music
    'jaaari/kokoro-82m', // text to speech
    'meta/meta-llama-3-8b-instruct', // LLM
    'yorickvp/llava-13b', // vision LLM
    'minimax/video-01', // video
    'salesforce/blip', // captioning
  ];

  it('gives one widget per input, in the model order, each of the kind its type asks for', () => {
    should(layout('black-forest-labs/flux-schnell')).eql([
      'prompt: textarea*',
      'aspect_ratio: select',
      'num_outputs: number',
      'num_inference_steps: number',
      'seed: number',
      'output_format: select',
      'output_quality: number',
      'disable_safety_checker: checkbox',
      'go_fast: checkbox',
      'megapixels: select',
    ]);
    should(layout('nightmareai/real-esrgan')).eql(['image: file*', 'scale: number', 'face_enhance: checkbox']);
    should(layout('minimax/video-01')).eql(['prompt: textarea*', 'first_frame_image: file', 'prompt_optimizer: checkbox']);
    should(layout('jaaari/kokoro-82m')).eql(['text: textarea*', 'voice: select', 'speed: number']);
    should(layout('yorickvp/llava-13b')).eql([
      'image: file*',
      'prompt: textarea*',
      'top_p: number',
      'temperature: number',
      'max_tokens: number',
    ]);
    for (const ref of MODELS) should(layout(ref)).have.length(fieldsOf(ref).length, ref);
  });

  it('offers the choices of enums, also those behind allOf/$ref, and shows the default as the placeholder', () => {
    should(widget('black-forest-labs/flux-schnell', 'aspect_ratio')).match({ kind: 'select', placeholder: '1:1' });
    should(widget('black-forest-labs/flux-schnell', 'aspect_ratio').options).containDeep(['1:1', '16:9', '9:16']);
    should(widget('openai/whisper', 'transcription').options).eql(['plain text', 'srt', 'vtt']);
    should(widget('meta/musicgen', 'model_version')).match({ kind: 'select', placeholder: 'stereo-melody-large' });
    should(widget('recraft-ai/recraft-v3', 'style').options).containEql('realistic_image');
    should(widget('tencentarc/gfpgan', 'version')).match({ kind: 'select', placeholder: 'v1.4' });
    should(widget('black-forest-labs/flux-schnell', 'output_quality').placeholder).equal('80');
    should(widget('black-forest-labs/flux-schnell', 'prompt').placeholder).equal(''); // no default
  });

  it('bounds numbers by the schema range, whole numbers for integers', () => {
    const outputs = widget('black-forest-labs/flux-schnell', 'num_outputs');
    should(outputs).match({ kind: 'number', min: 1, max: 4, step: 1 });
    should([0, 1, 4, 5, 2.5].map((n) => form.acceptsText(outputs, String(n)))).eql([false, true, true, false, false]);
    const scale = widget('nightmareai/real-esrgan', 'scale');
    should(scale).match({ kind: 'number', min: 0, max: 10, step: 'any' });
    should(form.acceptsText(scale, '2.5')).be.true();
    should(form.acceptsText(scale, 'big')).be.false();
    should(widget('stability-ai/sdxl', 'guidance_scale')).match({ min: 1, max: 50 });
    should(widget('meta/meta-llama-3-8b-instruct', 'max_tokens')).match({ kind: 'number', placeholder: '512' });
  });

  it('marks file inputs (format: uri) as taking a URL, a data: URL or a Buffer', () => {
    for (const [ref, name] of [
      ['nightmareai/real-esrgan', 'image'],
      ['openai/whisper', 'audio'],
      ['meta/musicgen', 'input_audio'],
      ['stability-ai/sdxl', 'mask'],
      ['tencentarc/gfpgan', 'img'],
      ['cjwbw/rembg', 'image'],
      ['salesforce/blip', 'image'],
    ] as const) {
      should(widget(ref, name)).match({ kind: 'file', uri: true });
    }
    should(widget('openai/whisper', 'initial_prompt')).match({ kind: 'textarea', uri: false });
  });

  it('stores fixed values as typed JSON and the other fields by source; an empty field is not sent, never as ""', () => {
    const fields = fieldsOf('black-forest-labs/flux-schnell');
    const values: Values = {
      ...plain(form.formValues(form.formFields(fields), {}, {})),
      prompt: { type: 'msg', value: 'payload.text' },
      aspect_ratio: { type: 'choice', value: '16:9' },
      num_outputs: { type: 'num', value: '2' },
      seed: { type: 'num', value: '' },
      go_fast: { type: 'check', value: 'true' }, // the default
      disable_safety_checker: { type: 'check', value: 'true' }, // not the default
      output_quality: { type: 'jsonata', value: '$number(quality)' },
      megapixels: { type: 'choice', value: '' },
    };
    should(plain(form.formToInput(fields, values))).eql({
      input: { aspect_ratio: '16:9', num_outputs: 2, disable_safety_checker: true },
      inputFields: { prompt: { type: 'msg', value: 'payload.text' }, output_quality: { type: 'jsonata', value: '$number(quality)' } },
    });
    // a required field left empty is left out too: the runtime's check then says it is missing
    const empty = plain(form.formToInput(fields, { prompt: { type: 'text', value: '  ' }, seed: { type: 'msg', value: '' } }));
    should(empty).eql({ input: {}, inputFields: {} });
  });

  it('reads a stored form back into the same widgets (a saved, exported and imported flow opens as it was)', () => {
    for (const ref of ['black-forest-labs/flux-schnell', 'meta/musicgen', 'openai/whisper']) {
      const fields = fieldsOf(ref);
      const widgets = form.formFields(fields);
      const stored = plain(
        form.formToInput(
          fields,
          Object.fromEntries(
            plain(widgets).map((w, i): [string, { type: string; value: string }] => {
              if (i % 3 === 0) return [w.name, { type: 'flow', value: `settings.${w.name}` }];
              if (w.kind === 'select') return [w.name, { type: 'choice', value: w.options!.at(-1)! }];
              if (w.kind === 'number') return [w.name, { type: 'num', value: String(w.max ?? 3) }];
              if (w.kind === 'checkbox') return [w.name, { type: 'check', value: w.placeholder === 'true' ? 'false' : 'true' }];
              return [w.name, { type: 'str', value: `value of ${w.name}` }];
            }),
          ),
        ),
      );
      const exported = JSON.parse(JSON.stringify({ input: JSON.stringify(stored.input), inputFields: stored.inputFields })) as {
        input: string;
        inputFields: Stored['inputFields'];
      };
      const reopened = plain(form.formValues(widgets, JSON.parse(exported.input) as Record<string, unknown>, exported.inputFields));
      should(plain(form.formToInput(fields, reopened))).eql(stored, ref);
    }
  });

  it('drops the fields the new model lacks when the model changes, and names them', () => {
    const flux = fieldsOf('black-forest-labs/flux-schnell');
    const esrgan = fieldsOf('nightmareai/real-esrgan');
    const stored = plain(
      form.formToInput(flux, {
        prompt: { type: 'text', value: 'a cat' },
        aspect_ratio: { type: 'choice', value: '16:9' },
        seed: { type: 'msg', value: 'seed' },
      }),
    );
    const after = plain(
      form.dropStale(esrgan, { ...stored.input, scale: 2 }, { ...stored.inputFields, image: { type: 'msg', value: 'image' } }),
    );
    should(after).eql({
      input: { scale: 2 },
      inputFields: { image: { type: 'msg', value: 'image' } },
      dropped: ['prompt', 'aspect_ratio', 'seed'],
    });
    should(plain(form.dropStale(flux, stored.input, stored.inputFields)).dropped).eql([]);
  });

  it('names the field a plain string msg.payload goes to: prompt, else the first required text field that is no file, as the runtime does', () => {
    const goesTo = Object.fromEntries(MODELS.map((ref) => [ref, form.payloadField(fieldsOf(ref)) ?? null]));
    should(goesTo).eql({
      'black-forest-labs/flux-schnell': 'prompt',
      'stability-ai/sdxl': 'prompt',
      'recraft-ai/recraft-v3': 'prompt',
      'nightmareai/real-esrgan': null,
      'tencentarc/gfpgan': null,
      'cjwbw/rembg': null,
      'openai/whisper': null,
      'meta/musicgen': 'prompt',
      'jaaari/kokoro-82m': 'text',
      'meta/meta-llama-3-8b-instruct': 'prompt',
      'yorickvp/llava-13b': 'prompt',
      'minimax/video-01': 'prompt',
      'salesforce/blip': null,
    });
    // the editor's hint and the runtime name the same field: one rule, written in each language
    should(Object.fromEntries(MODELS.map((ref) => [ref, promptFieldOf(fieldsOf(ref)) ?? null]))).eql(goesTo);
  });

  it("labels each row with the schema's title where it has one, and with the key where it has none", () => {
    should(plain(widget('black-forest-labs/flux-schnell', 'num_outputs'))).match({ name: 'num_outputs', label: 'Num Outputs' });
    // a title that is only the key (aspect_ratio's, from its enum's schema) shows as the key
    should(plain(widget('black-forest-labs/flux-schnell', 'aspect_ratio'))).match({ label: 'aspect_ratio' });
    should(plain(form.formFields([{ name: 'disable_safety_checker', type: 'boolean', required: false, order: 0 }])[0])).match({
      label: 'disable_safety_checker',
    });
  });

  it('names the field a Buffer msg.payload goes to: the first required file input, else the only one, as the runtime does', () => {
    const goesTo = Object.fromEntries(MODELS.map((ref) => [ref, form.fileField(fieldsOf(ref)) ?? null]));
    should(goesTo).eql({
      'black-forest-labs/flux-schnell': null,
      'stability-ai/sdxl': null, // image and mask, neither required: which one is meant cannot be told
      'recraft-ai/recraft-v3': null,
      'nightmareai/real-esrgan': 'image',
      'tencentarc/gfpgan': 'img',
      'cjwbw/rembg': 'image',
      'openai/whisper': 'audio',
      'meta/musicgen': 'input_audio', // its only file input, though optional
      'jaaari/kokoro-82m': null,
      'meta/meta-llama-3-8b-instruct': null,
      'yorickvp/llava-13b': 'image',
      'minimax/video-01': 'first_frame_image',
      'salesforce/blip': 'image',
    });
    should(Object.fromEntries(MODELS.map((ref) => [ref, fileFieldOf(fieldsOf(ref)) ?? null]))).eql(goesTo);
  });
});
