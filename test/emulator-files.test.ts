// The emulator's files: Replicate's files API (upload, list, get, delete, expiry), the real bytes
// of its models' output files, data: outputs in sync mode, and the echo of the file inputs a
// prediction received. Spoken to with plain fetch, independently of the nodes' client.
import should from 'should';
import { DEFAULT_TOKEN, startEmulator, type Emulator } from '../emulator';
import { detectContentType } from '../nodes/core';

const auth = { authorization: `Bearer ${DEFAULT_TOKEN}` };

describe('Replicate emulator: files', () => {
  let emulator: Emulator;
  before(async () => (emulator = await startEmulator({ fileExpiryMs: 60_000 })));
  after(() => emulator.close());

  async function upload(data: Buffer, fields: Record<string, string> = {}) {
    const form = new FormData();
    form.set('content', new Blob([new Uint8Array(data)], { type: 'image/png' }), 'photo.png');
    for (const [name, value] of Object.entries(fields)) form.set(name, value);
    const res = await fetch(`${emulator.url}/files`, { method: 'POST', headers: auth, body: form });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> & { id: string; urls: { get: string } } };
  }

  it('takes an upload, shows, lists and deletes it as the files API does', async () => {
    const data = Buffer.from('\x89PNG\r\n\x1a\n some image', 'latin1');
    const created = await upload(data, { filename: 'cat.png', type: 'image/png', metadata: '{"job":7}' });
    should(created.status).equal(201);
    should(created.json).match({ content_type: 'image/png', size: data.length, metadata: { job: 7 } });
    should(created.json.urls.get).equal(`${emulator.url}/files/${created.json.id}`);
    should(Date.parse(created.json.expires_at as string) - Date.parse(created.json.created_at as string)).equal(60_000);
    should((created.json.checksums as { sha256: string }).sha256).have.length(64);
    should(emulator.files.get(created.json.id)!.bytes.equals(data)).be.true();
    should(emulator.files.get(created.json.id)!.filename).equal('cat.png');

    const shown = await fetch(`${emulator.url}/files/${created.json.id}`, { headers: auth });
    should(await shown.json()).eql(created.json);
    const listed = (await (await fetch(`${emulator.url}/files`, { headers: auth })).json()) as { results: Array<{ id: string }> };
    should(listed.results.map((f) => f.id)).containEql(created.json.id);
    should((await fetch(`${emulator.url}/files/${created.json.id}`, { method: 'DELETE', headers: auth })).status).equal(204);
    should((await fetch(`${emulator.url}/files/${created.json.id}`, { headers: auth })).status).equal(404);
    should((await fetch(`${emulator.url}/files/${created.json.id}`, { method: 'DELETE', headers: auth })).status).equal(404);
  });

  it('refuses an upload without content, or that is not multipart', async () => {
    const form = new FormData();
    form.set('filename', 'x.png');
    should((await fetch(`${emulator.url}/files`, { method: 'POST', headers: auth, body: form })).status).equal(400);
    const json = await fetch(`${emulator.url}/files`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    should(json.status).equal(400);
  });

  it('forgets a file once it has expired', async () => {
    const short = await startEmulator({ fileExpiryMs: 50 });
    try {
      const form = new FormData();
      form.set('content', new Blob([new Uint8Array([120])]), 'x.bin');
      const { id } = (await (await fetch(`${short.url}/files`, { method: 'POST', headers: auth, body: form })).json()) as { id: string };
      should(short.files.get(id)).not.be.undefined();
      await new Promise((resolve) => setTimeout(resolve, 80));
      should((await fetch(`${short.url}/files/${id}`, { headers: auth })).status).equal(404);
      should(short.files.get(id)).be.undefined();
    } finally {
      await short.close();
    }
  });

  it('serves real PNG, WAV and MP4 bytes for its image, audio and video outputs, from its own address', async () => {
    for (const [path, type] of [
      ['/outputs/image/out-0.png', 'image/png'],
      ['/outputs/audio/speech.wav', 'audio/wav'],
      ['/outputs/video/clip.mp4', 'video/mp4'],
    ] as const) {
      const res = await fetch(`${emulator.origin}${path}`);
      should(res.status).equal(200);
      should(res.headers.get('content-type')).equal(type);
      should(detectContentType(new Uint8Array(await res.arrayBuffer()))).equal(type);
    }
    should((await fetch(`${emulator.origin}/outputs/nothing/x.png`)).status).equal(404);
  });

  it('answers a sync create with its output files inline as data: URLs, and names them by URL afterwards', async () => {
    const res = await fetch(`${emulator.url}/models/black-forest-labs/flux-schnell/predictions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', prefer: 'wait=10' },
      body: JSON.stringify({ input: { prompt: 'a cat' } }),
    });
    const sync = (await res.json()) as { id: string; status: string; output: string[] };
    should(sync.status).equal('succeeded');
    should(sync.output[0]).startWith('data:image/png;base64,');
    should(detectContentType(Buffer.from(sync.output[0]!.split(',')[1]!, 'base64'))).equal('image/png');
    should(emulator.prediction(sync.id)!.output).eql([`${emulator.origin}/outputs/image/out-0.png`]);
  });

  it('echoes the file inputs a prediction received, inline or uploaded, with their bytes', async () => {
    const uploaded = await upload(Buffer.from('uploaded bytes'));
    const res = await fetch(`${emulator.url}/models/black-forest-labs/flux-schnell/predictions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt: 'a cat', image: uploaded.json.urls.get, masks: ['data:text/plain;base64,aGk='] } }),
    });
    const { id } = (await res.json()) as { id: string };
    should(emulator.fileInputs(id).map(({ field, via, bytes }) => [field, via, bytes.toString()])).eql([
      ['image', 'upload', 'uploaded bytes'],
      ['masks.0', 'data-url', 'hi'],
    ]);
    // the same over the control API, for tools in another process
    const echoed = (await (await fetch(`${emulator.origin}/_emulator/predictions/${id}/files`)).json()) as Array<{
      field: string;
      base64: string;
    }>;
    should(echoed.map((f) => [f.field, Buffer.from(f.base64, 'base64').toString()])).eql([
      ['image', 'uploaded bytes'],
      ['masks.0', 'hi'],
    ]);
  });
});
