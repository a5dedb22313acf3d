// The emulator's files: Replicate's files API (upload, list, get, delete, expiry), the real bytes
// of its models' output files, data: outputs in sync mode, and the echo of the file inputs a
// prediction received. Spoken to with plain fetch, independently of the nodes' client.
import { createHash } from 'node:crypto';
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
    should(created.json.checksums).eql({ sha256: createHash('sha256').update(data).digest('hex') });
    should(created.json).match({ name: 'cat.png', etag: createHash('md5').update(data).digest('hex') });
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

  const syncCreate = async (on: Emulator) => {
    const res = await fetch(`${on.url}/models/black-forest-labs/flux-schnell/predictions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', prefer: 'wait=10' },
      body: JSON.stringify({ input: { prompt: 'a cat' } }),
    });
    return (await res.json()) as { id: string; status: string; output: string[] };
  };

  it('answers a sync create with its output files as URLs on its file origin, as Replicate does', async () => {
    const sync = await syncCreate(emulator);
    should(sync.status).equal('succeeded');
    should(sync.output).eql([`${emulator.origin}/outputs/${sync.id}/out-0.png`]);
    const file = await fetch(sync.output[0]!);
    should(detectContentType(new Uint8Array(await file.arrayBuffer()))).equal('image/png');
  });

  it('answers a sync create with its files inline as data: URLs when asked to, and names them by URL afterwards', async () => {
    const inline = await startEmulator({ syncOutputs: 'data-url' });
    try {
      const sync = await syncCreate(inline);
      should(sync.output[0]).startWith('data:image/png;base64,');
      should(detectContentType(Buffer.from(sync.output[0]!.split(',')[1]!, 'base64'))).equal('image/png');
      should(inline.prediction(sync.id)!.output).eql([`${inline.origin}/outputs/${sync.id}/out-0.png`]);
    } finally {
      await inline.close();
    }
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

  it('takes metadata sent as a JSON file part, as the official JS client sends it, and refuses metadata that is not an object', async () => {
    const form = new FormData();
    form.set('content', new Blob([new Uint8Array([1, 2, 3])]), 'x.bin');
    form.set('metadata', new Blob([JSON.stringify({ job: 'a' })], { type: 'application/json' }));
    const res = await fetch(`${emulator.url}/files`, { method: 'POST', headers: auth, body: form });
    should(res.status).equal(201);
    should(((await res.json()) as { metadata: unknown }).metadata).eql({ job: 'a' });
    for (const metadata of ['[1]', '"text"', '{broken']) {
      should((await upload(Buffer.from('x'), { metadata })).status).equal(400);
    }
  });

  it('lists files a page at a time, newest first', async () => {
    const paged = await startEmulator({ pageSize: 2 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const form = new FormData();
        form.set('content', new Blob([new Uint8Array([i])]), `f${i}.bin`);
        ids.push(((await (await fetch(`${paged.url}/files`, { method: 'POST', headers: auth, body: form })).json()) as { id: string }).id);
      }
      type FilePage = { results: Array<{ id: string }>; next: string | null; previous: string | null };
      const first = (await (await fetch(`${paged.url}/files`, { headers: auth })).json()) as FilePage;
      should(first.results.map((f) => f.id)).eql([ids[2], ids[1]]);
      const second = (await (await fetch(first.next!, { headers: auth })).json()) as FilePage;
      should(second.results.map((f) => f.id)).eql([ids[0]]);
      should(second.next).be.null();
    } finally {
      await paged.close();
    }
  });

  it('serves a file at its signed download URL without a token, and refuses a tampered or expired one', async () => {
    const data = Buffer.from('download me');
    const created = await upload(data);
    const url = emulator.files.downloadUrl(created.json.id);
    should(new URL(url).searchParams.get('owner')).equal('emulator');
    const res = await fetch(url);
    should(res.status).equal(200);
    should(Buffer.from(await res.arrayBuffer()).equals(data)).be.true();
    const tampered = new URL(url);
    tampered.searchParams.set('expiry', String(Number(tampered.searchParams.get('expiry')) + 1));
    should((await fetch(tampered)).status).equal(403);
    should((await fetch(emulator.files.downloadUrl(created.json.id, -10))).status).equal(403);
    should((await fetch(`${emulator.url}/files/${created.json.id}/download`, { headers: auth })).status).equal(400);
  });

  it('scales a PNG given to an upscaler by its scale, to real dimensions', async () => {
    const { encodePng, decodePng } = await import('../emulator/png');
    const rgba = Buffer.alloc(3 * 2 * 4, 0x7f);
    const input = encodePng({ width: 3, height: 2, rgba });
    const res = await fetch(`${emulator.url}/predictions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', prefer: 'wait' },
      body: JSON.stringify({
        version: 'f121d640bd286e1fdc67f9799164c1d5be36ff74576ee11c803ae5b665dd46aa',
        input: { image: `data:image/png;base64,${input.toString('base64')}`, scale: 3 },
      }),
    });
    const { output } = (await res.json()) as { output: string };
    const scaled = decodePng(Buffer.from(await (await fetch(output)).arrayBuffer()), 1000)!;
    should([scaled.width, scaled.height]).eql([9, 6]);
    should(scaled.rgba.equals(Buffer.alloc(9 * 6 * 4, 0x7f))).be.true();
  });

  describe('removed data', () => {
    const finishedPrediction = async (on: Emulator) => {
      const res = await fetch(`${on.url}/models/black-forest-labs/flux-schnell/predictions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', prefer: 'wait' },
        body: JSON.stringify({ input: { prompt: 'a cat' } }),
      });
      return (await res.json()) as { id: string; output: string[] };
    };

    it('removes input, logs, output and output files on expire, as Replicate does an hour after the end', async () => {
      const done = await finishedPrediction(emulator);
      should((await fetch(done.output[0]!)).status).equal(200);
      const expired = await fetch(`${emulator.origin}/_emulator/predictions/${done.id}/expire`, { method: 'POST' });
      should(expired.status).equal(200);
      const shown = (await (await fetch(`${emulator.url}/predictions/${done.id}`, { headers: auth })).json()) as Record<string, unknown>;
      should(shown).match({ status: 'succeeded', data_removed: true, output: null, input: {}, logs: '' });
      should((await fetch(done.output[0]!)).status).equal(404);
    });

    it('removes them on its own after --retention seconds, and refuses to expire a running prediction', async () => {
      const brief = await startEmulator({ retentionSeconds: 0.2, timing: { startingMs: 0, processingMs: 20 } });
      try {
        const done = await finishedPrediction(brief);
        should(brief.prediction(done.id)).match({ data_removed: false });
        await new Promise((resolve) => setTimeout(resolve, 250));
        should(brief.prediction(done.id)).match({ data_removed: true, output: null });
        should((await fetch(done.output[0]!)).status).equal(404);
        brief.fault({ type: 'timing', startingMs: 0, processingMs: 10_000 });
        const running = (await (
          await fetch(`${brief.url}/models/black-forest-labs/flux-schnell/predictions`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ input: { prompt: 'a dog' } }),
          })
        ).json()) as { id: string };
        should((await fetch(`${brief.origin}/_emulator/predictions/${running.id}/expire`, { method: 'POST' })).status).equal(409);
      } finally {
        await brief.close();
      }
    });
  });
});
