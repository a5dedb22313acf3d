// Files in and out, in the core: what a file is from its bytes, the names output files get,
// which hosts are downloaded from, inputs sent inline or uploaded (the bytes that reach the
// emulator are the bytes sent), and downloads: retried, stopped at the limit, never with the token.
import http from 'http';
import type { AddressInfo } from 'net';
import should from 'should';
import { DEFAULT_TOKEN, startEmulator, startRecorder, type Emulator, type Recorder } from '../emulator';
import {
  checkInput,
  detectContentType,
  extensionFor,
  FileFetcher,
  FileHosts,
  findOutputFiles,
  inputFields,
  MAX_OUTPUT_FILES,
  MAX_UPLOAD_BYTES,
  outputFileName,
  prepareFileInputs,
  ReplicateClient,
  UPLOAD_TAG,
  type Prediction,
} from '../nodes/core';

const bytes = (...values: Array<number | string>): Buffer =>
  Buffer.concat(values.map((v) => (typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from([v]))));
const pad = (head: Buffer, size = 64) => Buffer.concat([head, Buffer.alloc(Math.max(0, size - head.length))]);

/**
 * A file host that does as it likes, on 127.0.0.1: /endless/<name> sends 64 KiB chunks without a
 * length until the client hangs up, /sized/<bytes>/<name> sends that many bytes with their length.
 * It counts the requests and the bytes it sent for each path.
 */
async function hostileFileHost() {
  const requests = new Map<string, number>();
  const sent = new Map<string, number>();
  const chunk = Buffer.alloc(64 * 1024, 3);
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const count = (bytes: number) => sent.set(path, (sent.get(path) ?? 0) + bytes);
    const sized = /^\/sized\/(\d+)\//.exec(path);
    if (sized) {
      const size = Number(sized[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      count(size);
      res.end(Buffer.alloc(size, 5));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = () => {
      while (!res.destroyed) {
        count(chunk.length);
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    res.on('close', () => res.removeListener('drain', pump));
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    sent,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()) && server.closeAllConnections()),
  };
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

async function rejected(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('files: content types from bytes', () => {
  const cases: Array<[string, Buffer, string]> = [
    ['PNG', bytes(0x89, 'PNG\r\n', 0x1a, '\n'), 'image/png'],
    ['JPEG', bytes(0xff, 0xd8, 0xff, 0xe0), 'image/jpeg'],
    ['GIF', bytes('GIF89a'), 'image/gif'],
    ['WebP', bytes('RIFF', 0, 0, 0, 0, 'WEBPVP8 '), 'image/webp'],
    ['BMP', bytes('BM'), 'image/bmp'],
    ['TIFF (little-endian)', bytes('II', 0x2a, 0), 'image/tiff'],
    ['TIFF (big-endian)', bytes('MM', 0, 0x2a), 'image/tiff'],
    ['WAV', bytes('RIFF', 0, 0, 0, 0, 'WAVEfmt '), 'audio/wav'],
    ['MP3 with ID3', bytes('ID3', 4, 0), 'audio/mpeg'],
    ['MP3 frame', bytes(0xff, 0xfb, 0x90, 0x44), 'audio/mpeg'],
    ['OGG', bytes('OggS'), 'audio/ogg'],
    ['FLAC', bytes('fLaC'), 'audio/flac'],
    ['M4A', bytes(0, 0, 0, 0x20, 'ftypM4A '), 'audio/mp4'],
    ['MP4', bytes(0, 0, 0, 0x20, 'ftypisom'), 'video/mp4'],
    ['MOV', bytes(0, 0, 0, 0x14, 'ftypqt  '), 'video/quicktime'],
    ['WebM', bytes(0x1a, 0x45, 0xdf, 0xa3), 'video/webm'],
    ['PDF', bytes('%PDF-1.7'), 'application/pdf'],
    ['ZIP', bytes('PK', 3, 4), 'application/zip'],
  ];
  for (const [name, head, type] of cases) {
    it(`knows ${name} as ${type}`, () => should(detectContentType(pad(head))).equal(type));
  }

  it('calls anything else, or too few bytes to tell, application/octet-stream', () => {
    should(detectContentType(Buffer.from('just some text'))).equal('application/octet-stream');
    should(detectContentType(bytes(0x89, 'PN'))).equal('application/octet-stream');
    should(detectContentType(bytes('RIFF', 0, 0, 0, 0, 'AVI '))).equal('application/octet-stream');
    should(detectContentType(new Uint8Array(0))).equal('application/octet-stream');
  });

  it('gives each type its usual extension', () => {
    should(['image/png', 'image/jpeg', 'audio/wav', 'video/mp4', 'image/webp; q=1', 'x/unknown'].map(extensionFor)).eql([
      'png',
      'jpg',
      'wav',
      'mp4',
      'webp',
      'bin',
    ]);
  });
});

describe('files: output file names', () => {
  it('takes the last path segment, decoded, with its extension', () => {
    should(outputFileName('https://replicate.delivery/xezq/abc/out-0.webp', 'image/webp', 0)).equal('out-0.webp');
    should(outputFileName('https://replicate.delivery/a/my%20photo.png?x=1', 'image/png', 0)).equal('my photo.png');
  });

  it('adds an extension from the content type when the name has none', () => {
    should(outputFileName('https://replicate.delivery/a/output', 'audio/wav', 3)).equal('output.wav');
  });

  it('names data: outputs and empty names output-<n>.<ext>', () => {
    should(outputFileName('data:image/png;base64,AAAA', 'image/png', 2)).equal('output-2.png');
    should(outputFileName('https://replicate.delivery/', 'video/mp4', 0)).equal('output-0.mp4');
  });

  it('never names a folder: no separators, no "..", no control characters', () => {
    for (const url of [
      'https://replicate.delivery/a/..%2F..%2Fetc%2Fpasswd',
      'https://replicate.delivery/a/..%5C..%5Cwin.ini',
      'https://replicate.delivery/a/%2e%2e',
      'https://replicate.delivery/a/x%00y%0A.png',
    ]) {
      const name = outputFileName(url, 'image/png', 0);
      // eslint-disable-next-line no-control-regex -- control characters are what must not be there
      should(name).not.match(/[/\\\u0000-\u001f]/);
      should(name).not.startWith('.');
      should(name === '..' || name === '.').be.false();
    }
    should(outputFileName('https://replicate.delivery/a/%2e%2e', 'image/png', 4)).equal('output-4.png');
  });

  it('keeps names to 255 bytes, extension included, without splitting a character', () => {
    const name = outputFileName(`https://replicate.delivery/a/${encodeURIComponent('ü'.repeat(300))}.png`, 'image/png', 0);
    should(Buffer.byteLength(name)).be.belowOrEqual(255);
    should(name).endWith('.png').and.not.containEql('\ufffd');
  });
});

describe('files: allowed file hosts', () => {
  const https = new FileHosts(new URL('https://api.replicate.com/v1'), ['cdn.example.com', '*.files.example.org']);
  const local = new FileHosts(new URL('http://127.0.0.1:4000/v1'));

  it('allows replicate.delivery and its subdomains, the API host and the listed hosts', () => {
    for (const url of [
      'https://replicate.delivery/a.png',
      'https://pbxt.replicate.delivery/a.png',
      'https://api.replicate.com/v1/files/x',
      'https://cdn.example.com/a.png',
      'https://eu.files.example.org/a.png',
    ]) {
      should(https.check(url).href).equal(url);
    }
  });

  it('refuses any other host, naming it', () => {
    for (const [url, host] of [
      ['https://evil.example.com/a.png', 'evil.example.com'],
      ['https://replicate.delivery.evil.com/a.png', 'replicate.delivery.evil.com'],
      ['https://notreplicate.delivery/a.png', 'notreplicate.delivery'],
      ['https://169.254.169.254/latest/meta-data', '169.254.169.254'],
      ['https://files.example.org/a.png', 'files.example.org'],
    ] as const) {
      should(thrown(() => https.check(url)).message).equal(
        `The output names a file on ${host}, which is not an allowed file host, so it was not downloaded: add the host to "Also download from" in the Replicate account if you trust it`,
      );
    }
  });

  it('downloads over https only; plain http only on this machine when the API itself is plain http there', () => {
    should(thrown(() => https.check('http://replicate.delivery/a.png')).message).startWith(
      'The output names a file on replicate.delivery without https',
    );
    should(local.check('http://127.0.0.1:5000/a.png').port).equal('5000');
    should(thrown(() => local.check('http://replicate.delivery/a.png')).message).containEql('without https');
  });

  it('finds output files at any depth, in output order: data: URLs and http(s) URLs, nothing else', () => {
    const output = {
      images: ['https://replicate.delivery/a/0.png', 'https://replicate.delivery/a/1.png'],
      nested: { audio: 'data:audio/wav;base64,UklGRg==', caption: 'a photo of https://replicate.delivery/a/0.png' },
      count: 2,
    };
    should(findOutputFiles(output, https)).eql([
      'https://replicate.delivery/a/0.png',
      'https://replicate.delivery/a/1.png',
      'data:audio/wav;base64,UklGRg==',
    ]);
    should(findOutputFiles('just text', https)).eql([]);
    should(findOutputFiles(null, https)).eql([]);
  });
});

describe('files: the input check', () => {
  const openapi = {
    components: {
      schemas: {
        Input: {
          type: 'object',
          properties: {
            image: { type: 'string', format: 'uri' },
            prompt: { type: 'string' },
            scale: { type: 'number' },
          },
        },
      },
    },
  };
  const fields = inputFields(openapi)!;

  it('accepts a Buffer or Uint8Array where the schema expects a file (format: uri)', () => {
    const image = Buffer.from('png');
    should(checkInput(fields, { image }, 'a/b').image).equal(image);
    should(checkInput(fields, { image: new Uint8Array(3) }, 'a/b').image).be.instanceOf(Uint8Array);
  });

  it('still rejects a Buffer for a number or plain text, without spelling its bytes out', () => {
    const err = thrown(() => checkInput(fields, { scale: Buffer.from('12345'), prompt: Buffer.alloc(1000) }, 'a/b'));
    should(err.message).containEql('input "scale" must be a number (got <5 bytes>)');
    should(err.message).containEql('input "prompt" must be text (got <1000 bytes>)');
  });
});

describe('files: against the emulator', function () {
  this.timeout(60_000);
  let emulator: Emulator;
  let client: ReplicateClient;
  before(async () => {
    emulator = await startEmulator();
    client = new ReplicateClient({ baseUrl: emulator.url, token: DEFAULT_TOKEN, retry: { baseDelayMs: 10, maxDelayMs: 20 } });
  });
  afterEach(() => {
    emulator.clearFaults();
    emulator.clearRequests();
  });
  after(async () => {
    await client.close();
    await emulator.close();
  });
  const fetcher = (maxBytes = 100_000_000, alsoDownloadFrom: string[] = []) =>
    new FileFetcher({ apiBaseUrl: new URL(emulator.url), maxBytes, alsoDownloadFrom, maxRetries: 3 });
  const succeeded = (output: unknown): Prediction => ({ id: 'p1', status: 'succeeded', output });
  const uploads = () => emulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/files');

  describe('inputs', () => {
    it('sends small files inline as data: URLs and uploads larger ones, at any depth, the rest of the input untouched', async () => {
      const small = Buffer.from('a small file');
      const large = Buffer.alloc(300 * 1024, 1);
      large.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const input = { prompt: 'a cat', image: large, refs: [small, { deep: new Uint8Array([0xff, 0xd8, 0xff, 0]) }] };
      const prepared = await prepareFileInputs(client, input, { inlineLimit: 256 * 1024 });
      should(prepared.input.prompt).equal('a cat');
      should((prepared.input.refs as unknown[])[0]).equal(`data:application/octet-stream;base64,${small.toString('base64')}`);
      should((prepared.input.refs as Array<{ deep: string }>)[1]!.deep).equal('data:image/jpeg;base64,/9j/AA==');
      should(prepared.uploaded).have.length(1);
      should(prepared.input.image).equal(`${emulator.url}/files/${prepared.uploaded[0]}`);
      const stored = emulator.files.get(prepared.uploaded[0]!)!;
      should(stored).match({ content_type: 'image/png', filename: 'image.png', size: large.length });
      should(stored.bytes.equals(large)).be.true();
      should(input.image).equal(large); // the message's own input is not changed
      should(uploads()).have.length(1);
    });

    it('hands the same input back when it holds no file', async () => {
      const input = { prompt: 'a cat', n: [1, 2] };
      should((await prepareFileInputs(client, input, { inlineLimit: 10 })).input).equal(input);
      should(uploads()).have.length(0);
    });

    it('refuses a file over 100 MiB, naming its field, before anything is sent', async () => {
      const huge = Buffer.alloc(MAX_UPLOAD_BYTES + 1);
      const err = await rejected(
        prepareFileInputs(client, { a: Buffer.alloc(500_000), frames: [Buffer.alloc(1), huge] }, { inlineLimit: 1000 }),
      );
      should(err.message).equal('input frames[1] is 101 MiB: Replicate takes files of at most 100 MiB, so nothing was sent');
      should(emulator.requests).have.length(0);
    });

    it('retries an upload like a read (5xx, dropped connection) and reports its progress', async () => {
      emulator.fault({ match: { method: 'POST', path: '/files' }, type: 'status', status: 503, times: 1 });
      emulator.fault({ match: { method: 'POST', path: '/files' }, type: 'drop', times: 1 });
      const data = Buffer.alloc(2 * 1024 * 1024, 9);
      const progress: number[] = [];
      const prepared = await prepareFileInputs(
        client,
        { audio: data },
        { inlineLimit: 0, onProgress: (sent, total) => progress.push(sent / total) },
      );
      should(uploads()).have.length(3);
      should(emulator.files.get(prepared.uploaded[0]!)!.bytes.equals(data)).be.true();
      should(progress.length).be.above(2);
      should(progress.at(-1)).equal(1);
    });

    it('leaves no second copy of an upload retried after its answer was lost (a 502 or a cut answer after the file was stored)', async () => {
      emulator.reset();
      emulator.fault({ match: { method: 'POST', path: '/files' }, type: 'status', status: 502, process: true });
      emulator.fault({ match: { method: 'POST', path: '/files' }, type: 'malformed' }); // stored, its answer cut short
      const data = Buffer.alloc(5000, 4);
      const prepared = await prepareFileInputs(client, { image: data }, { inlineLimit: 10 });
      should(uploads()).have.length(3); // stored three times, answered once
      should(emulator.files.list().map((file) => file.id)).eql(prepared.uploaded);
      should(emulator.files.get(prepared.uploaded[0]!)!.metadata).have.property(UPLOAD_TAG).which.is.a.String();
      should(emulator.files.get(prepared.uploaded[0]!)!.bytes.equals(data)).be.true();
    });

    it('looks for a lost copy page by page, on at most 3 pages of a files list that never ends', async () => {
      // An API whose first answer to an upload is lost, and whose file list pages on forever: the copy sits on page 2.
      let tag = '';
      let copyOnPage = 2;
      const lists: string[] = [];
      const deleted: string[] = [];
      const api = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const url = new URL(req.url ?? '/', 'http://api');
          const file = (id: string, metadata: unknown) => ({ id, urls: { get: `http://api/v1/files/${id}` }, metadata });
          const answer = (status: number, body?: unknown) =>
            res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
          if (req.method === 'POST' && !tag) {
            void new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type']! } })
              .formData()
              .then((form) => {
                tag = (JSON.parse(form.get('metadata') as string) as Record<string, string>)[UPLOAD_TAG]!;
                answer(502, { detail: 'bad gateway' });
              });
          } else if (req.method === 'POST') answer(201, file('kept', { [UPLOAD_TAG]: tag }));
          else if (req.method === 'GET') {
            const page = Number(url.searchParams.get('cursor') ?? 1);
            lists.push(String(page));
            const results =
              page === copyOnPage ? [file('other', {}), file('lost', { [UPLOAD_TAG]: tag }), file('kept', { [UPLOAD_TAG]: tag })] : [];
            answer(200, { next: `http://api/v1/files?cursor=${page + 1}`, previous: null, results });
          } else {
            deleted.push(url.pathname);
            answer(204);
          }
        });
      });
      await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
      const stub = new ReplicateClient({
        baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}/v1`,
        token: DEFAULT_TOKEN,
        retry: { baseDelayMs: 10, maxDelayMs: 20 },
      });
      try {
        const prepared = await prepareFileInputs(stub, { image: Buffer.alloc(5000, 4) }, { inlineLimit: 10 });
        should(prepared.uploaded).eql(['kept']);
        should(deleted).eql(['/v1/files/lost']);
        should(lists).eql(['1', '2']); // the one lost copy found: no further page

        tag = '';
        copyOnPage = 0; // the lost answer stored nothing: the search gives up after 3 pages
        lists.length = 0;
        deleted.length = 0;
        should((await prepareFileInputs(stub, { image: Buffer.alloc(5000, 4) }, { inlineLimit: 10 })).uploaded).eql(['kept']);
        should(lists).eql(['1', '2', '3']);
        should(deleted).eql([]);
      } finally {
        await stub.close();
        await new Promise<void>((resolve) => api.close(() => resolve()));
      }
    });

    it('leaves no copy when every answer to an upload is lost and the message fails', async () => {
      emulator.reset();
      emulator.fault({ match: { method: 'POST', path: '/files' }, type: 'status', status: 502, process: true, times: Infinity });
      const err = await rejected(prepareFileInputs(client, { first: Buffer.alloc(5000, 1) }, { inlineLimit: 10 }));
      should(err.message).containEql('502');
      should(uploads().length).be.above(1);
      should(emulator.files.list()).eql([]);
    });

    it('deletes only its own lost copies: a file uploaded by something else stays', async () => {
      emulator.reset();
      const other = await client.uploadFile({
        data: Buffer.alloc(5000, 2),
        filename: 'other.bin',
        contentType: 'application/octet-stream',
      });
      emulator.fault({ match: { method: 'POST', path: '/files' }, type: 'status', status: 502, process: true });
      const prepared = await prepareFileInputs(client, { image: Buffer.alloc(5000, 4) }, { inlineLimit: 10 });
      should(
        emulator.files
          .list()
          .map((file) => file.id)
          .sort(),
      ).eql([other.id, prepared.uploaded[0]!].sort());
    });

    it('deletes the files it uploaded for an input when a later upload of it fails', async () => {
      emulator.fault({ match: { method: 'POST', path: '/files' }, type: 'delay', ms: 0 }); // the first upload goes through
      emulator.fault({
        match: { method: 'POST', path: '/files' },
        type: 'status',
        status: 413,
        body: { detail: 'Files must be less than 100MB in size' },
      });
      const input = { first: Buffer.alloc(2000, 1), second: Buffer.alloc(2000, 2) };
      const err = await rejected(prepareFileInputs(client, input, { inlineLimit: 10 }));
      should(err.message).containEql('Files must be less than 100MB in size');
      should(emulator.requests.map((r) => `${r.method} ${r.path.replace(/[a-z0-9]{26}$/, 'ID')}`)).eql([
        'POST /v1/files',
        'POST /v1/files',
        'DELETE /v1/files/ID',
      ]);
      should(emulator.files.get(emulator.requests[2]!.path.split('/').pop()!)).be.undefined();
    });
  });

  describe('outputs', () => {
    it("downloads the emulator's real PNG, WAV and MP4 outputs and decodes data: outputs", async () => {
      const f = fetcher();
      const files = (await f.outputFilesOf(
        succeeded([
          `${emulator.origin}/outputs/image/out-0.png`,
          `${emulator.origin}/outputs/audio/speech.wav`,
          { video: `${emulator.origin}/outputs/video/clip.mp4` },
          'data:text/plain;base64,aGVsbG8=',
        ]),
      ))!;
      await f.close();
      should(files.map(({ filename, contentType }) => [filename, contentType])).eql([
        ['out-0.png', 'image/png'],
        ['speech.wav', 'audio/wav'],
        ['clip.mp4', 'video/mp4'],
        ['output-3.txt', 'text/plain'],
      ]);
      should(files.map((file) => detectContentType(file.data))).eql(['image/png', 'audio/wav', 'video/mp4', 'application/octet-stream']);
      should(files[3]!.data.toString()).equal('hello');
      should(files.every((file) => file.size === file.data.length)).be.true();
    });

    it('sends a failed prediction, or one without files, on as it is (no files)', async () => {
      const f = fetcher();
      should(await f.outputFilesOf({ id: 'p', status: 'failed', output: [`${emulator.origin}/outputs/image/a.png`] })).be.undefined();
      should(await f.outputFilesOf(succeeded(['some', 'words']))).be.undefined();
      await f.close();
      should(emulator.requests).have.length(0);
    });

    it('retries a download on 5xx and on a connection dropped midway', async () => {
      const url = `${emulator.origin}/outputs/generated/3000000/big.bin`;
      emulator.fault({ match: { method: 'GET', path: '/outputs/generated/3000000/big.bin' }, type: 'status', status: 502, times: 1 });
      emulator.fault({ match: { method: 'GET', path: '/outputs/generated/3000000/big.bin' }, type: 'drop', after: true, times: 1 });
      const f = fetcher();
      const [file] = (await f.outputFilesOf(succeeded(url)))!;
      await f.close();
      should(file!.size).equal(3_000_000);
      should(file!.data[2_999_999]).equal(2_999_999 % 251);
      should(emulator.requests.filter((r) => r.path.startsWith('/outputs/'))).have.length(3);
    });

    it('does not retry a 404, and names the file', async () => {
      const f = fetcher();
      const err = await rejected(f.outputFilesOf(succeeded(`${emulator.origin}/outputs/nothing/here.png`)));
      await f.close();
      should(err.message).match(/^The output file here\.png is gone \(HTTP 404\): Replicate removes output files about an hour after/);
      should(emulator.requests).have.length(1);
    });

    it('stops a 120 MB download at the largest download, holding no more than the limit', async () => {
      const f = fetcher(10_000_000);
      const before = process.memoryUsage();
      // announced: refused on its Content-Length, before the body is read
      const announced = await rejected(f.outputFilesOf(succeeded(`${emulator.origin}/outputs/generated/125829120/big.bin`)));
      should(announced.message).equal(
        'The output file big.bin is larger than the largest download (10 MB) set in the Replicate account, so its download was stopped',
      );
      await f.close();
      const after = process.memoryUsage();
      should(after.arrayBuffers + after.heapUsed - before.arrayBuffers - before.heapUsed).be.below(40_000_000);
    });

    it('stops a 120 MB download of unannounced size as soon as it passes the limit, with bounded memory', async () => {
      const f = fetcher(10_000_000);
      let received = 0;
      global.gc?.();
      const before = process.memoryUsage();
      let peak = 0;
      const err = await rejected(
        f.outputFilesOf(succeeded(`${emulator.origin}/outputs/generated/125829120/big.bin?chunked`), {
          onProgress: (bytes) => {
            received = bytes;
            const now = process.memoryUsage();
            peak = Math.max(peak, now.arrayBuffers + now.heapUsed - before.arrayBuffers - before.heapUsed);
          },
        }),
      );
      await f.close();
      should(err.message).startWith('The output file big.bin is larger than the largest download (10 MB)');
      should(received).be.belowOrEqual(10_000_000).and.above(9_000_000); // it stopped at the limit, not at the end
      should(peak).be.below(40_000_000); // far below the 120 MB the host would have sent
    });

    it('downloads a URL the output lists 30 times once, the 30 files sharing its bytes', async () => {
      const host = await hostileFileHost();
      try {
        const url = `${host.origin}/sized/5000000/same.png`;
        const f = fetcher(10_000_000); // 30 copies would be 150 MB, far past the limit
        global.gc?.();
        const before = process.memoryUsage();
        const files = (await f.outputFilesOf(succeeded({ images: Array.from({ length: 30 }, () => url) })))!;
        const after = process.memoryUsage();
        await f.close();
        should(host.requests.get('/sized/5000000/same.png')).equal(1);
        should(files).have.length(30);
        should(files.every((file) => file.data === files[0]!.data && file.size === 5_000_000 && file.filename === 'same.png')).be.true();
        should(after.arrayBuffers + after.heapUsed - before.arrayBuffers - before.heapUsed).be.below(40_000_000);
      } finally {
        await host.close();
      }
    });

    it('caps the downloads of one prediction together at the largest download, stopping the one that passes it', async () => {
      const host = await hostileFileHost();
      try {
        const f = fetcher(10_000_000);
        const output = [`${host.origin}/sized/4000000/a.bin`, `${host.origin}/sized/4000000/b.bin`, `${host.origin}/endless/c.bin`];
        const err = await rejected(f.outputFilesOf(succeeded(output)));
        await f.close();
        should(err.message).equal(
          'The output files of this prediction together pass the largest download (10 MB) set in the Replicate account, so the download of c.bin was stopped',
        );
        // 2 MB were left for c.bin: its download stopped there, not at the end (it has none)
        should(host.sent.get('/endless/c.bin')).be.below(8_000_000);
        // an announced size past what is left is refused before its body is read
        const g = fetcher(10_000_000);
        const announced = await rejected(g.outputFilesOf(succeeded([...output.slice(0, 2), `${host.origin}/sized/3000000/d.bin`])));
        await g.close();
        should(announced.message).startWith('The output files of this prediction together pass the largest download (10 MB)');
        should(announced.message).endWith('so the download of d.bin was stopped');
      } finally {
        await host.close();
      }
    });

    it(`refuses an output of more than ${MAX_OUTPUT_FILES} files before any download`, async () => {
      const f = fetcher();
      const urls = Array.from({ length: MAX_OUTPUT_FILES + 1 }, (_, i) => `${emulator.origin}/outputs/image/out-${i}.png`);
      should(await f.outputFilesOf(succeeded(urls.slice(0, MAX_OUTPUT_FILES)))).have.length(MAX_OUTPUT_FILES);
      emulator.clearRequests();
      const err = await rejected(f.outputFilesOf(succeeded(urls)));
      await f.close();
      should(err.message).equal(
        'The output names 101 files, more than the 100 downloaded for one prediction, so none was downloaded: with Output files "as URLs" the prediction goes out as it is',
      );
      should(emulator.requests).have.length(0);
    });

    it('refuses a data: output whose base64 is broken, naming it, rather than making an empty or short file', async () => {
      const f = fetcher();
      for (const broken of ['data:image/png;base64,!!!!', 'data:image/png;base64,iVBORw0K*GgoAAAA', 'data:text/plain;base64,aGVsbG8gd']) {
        const err = await rejected(f.outputFilesOf(succeeded(['data:text/plain;base64,aGVsbG8=', broken])));
        should(err.message).equal('Output file 2 is a data: URL that cannot be read');
      }
      const [spaced] = (await f.outputFilesOf(succeeded(['data:text/plain;base64,aGVs\nbG8=', 'data:text/plain;base64,'])))!;
      should(spaced!.data.toString()).equal('hello'); // line breaks in base64 are allowed
      await f.close();
    });

    it('refuses an output on a host that is not allowed, sending it nothing', async () => {
      const recorder: Recorder = await startRecorder();
      const other = recorder.origin.replace('127.0.0.1', 'localhost');
      const f = fetcher();
      const err = await rejected(f.outputFilesOf(succeeded([`${emulator.origin}/outputs/image/a.png`, `${other}/steal.png`])));
      await f.close();
      should(err.message).startWith('The output names a file on localhost, which is not an allowed file host');
      should(recorder.requests).have.length(0);
      should(emulator.requests).have.length(0); // nothing downloaded before the check failed
      await recorder.close();
    });

    it('never sends the API token to a file host, listed or the API host itself', async () => {
      const recorder = await startRecorder();
      const listedHost = recorder.origin.replace('127.0.0.1', 'localhost');
      const f = new FileFetcher({ apiBaseUrl: new URL(emulator.url), maxBytes: 1_000_000, alsoDownloadFrom: ['localhost'] });
      await f.outputFilesOf(succeeded([`${recorder.origin}/a.json`, `${listedHost}/b.json`, `${emulator.origin}/outputs/image/c.png`]));
      await f.close();
      const sent = [...recorder.requests, ...emulator.requests];
      should(sent).have.length(3);
      for (const request of sent) {
        should(request.headers).not.have.property('authorization');
        should(JSON.stringify(request)).not.containEql(DEFAULT_TOKEN);
      }
      await recorder.close();
    });
  });
});
