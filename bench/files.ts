// Files: a 50 MB Buffer uploaded with the files API and a 50 MB output file downloaded, each
// timed against raw undici doing the same transfer to the same emulator in the same run (rounds
// in alternating order, median of the per-round ratios), and the memory kept while ten 50 MB
// outputs are downloaded in buffer mode, at a largest download of 50 MB: no more than the bytes
// delivered, plus a little.
import { performance } from 'node:perf_hooks';
import { FormData, Pool } from 'undici';
import { DEFAULT_TOKEN } from '../emulator';
import { FileFetcher, ReplicateClient } from '../nodes/core';
import type { Bench, BenchContext, PlannedLine } from './context';
import { median, round } from './util';

const SIZE = 50 * 1000 * 1000;
const OUTPUTS = 10;

const LINES = {
  upload: { name: 'files.upload_50mb_vs_undici', target: { op: '<=', value: 1.2 }, unit: 'ratio' },
  download: { name: 'files.download_50mb_vs_undici', target: { op: '<=', value: 1.2 }, unit: 'ratio' },
  heap: { name: 'files.buffer_mode_memory_vs_bytes', target: { op: '<', value: 1.2 }, unit: 'ratio' },
} satisfies Record<string, PlannedLine>;

/** Memory that holds downloaded bytes: the JavaScript heap and the Buffers outside it. */
function heldMemory(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** Rounds of ours and undici in alternating order; the per-round ratios. */
async function compare(rounds: number, ours: () => Promise<unknown>, undici: () => Promise<unknown>) {
  await ours();
  await undici(); // warm-up
  const ratios: number[] = [];
  const times = { ours: [] as number[], undici: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['ours', 'undici'] as const) : (['undici', 'ours'] as const);
    const ms: Record<string, number> = {};
    for (const variant of order) {
      heldMemory();
      ms[variant] = await timed(variant === 'ours' ? ours : undici);
      times[variant].push(round2(ms[variant]));
    }
    ratios.push(ms.ours! / ms.undici!);
  }
  return { ratio: median(ratios), ratios: ratios.map((r) => round(r, 3)), times };
}

const round2 = (value: number) => round(value, 1);

export const filesBench: Bench = {
  name: 'files',
  needsRuntime: true,
  lines: () => Object.values(LINES),
  async run({ quick, worker, report }: BenchContext) {
    const rounds = quick ? 3 : 7;
    const emulator = await worker.call('startEmulator', { recordRequests: 0 });
    const apiBaseUrl = new URL(emulator.url);
    const client = new ReplicateClient({ baseUrl: emulator.url, token: DEFAULT_TOKEN, requestsPerMinute: 0 });
    const fetcher = new FileFetcher({ apiBaseUrl, maxBytes: SIZE * OUTPUTS });
    const pool = new Pool(emulator.origin, { connections: 4 });
    const data = Buffer.alloc(SIZE, 7);
    data.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const auth = { authorization: `Bearer ${DEFAULT_TOKEN}` };
    const output = (i: number) => `${emulator.origin}/outputs/generated/${SIZE}/out-${i}.bin`;
    try {
      const upload = await compare(
        rounds,
        () => client.uploadFile({ data, filename: 'image.png', contentType: 'image/png' }),
        async () => {
          const form = new FormData();
          form.set('content', new Blob([data], { type: 'image/png' }), 'image.png');
          form.set('filename', 'image.png');
          form.set('type', 'image/png');
          const { body, statusCode } = await pool.request({ method: 'POST', path: '/v1/files', headers: auth, body: form });
          await body.text();
          if (statusCode !== 201) throw new Error(`raw upload answered ${statusCode}`);
        },
      );
      await worker.call('reset'); // the emulator forgets the uploads
      report.note(`files: upload ${SIZE / 1e6} MB, ms ours ${upload.times.ours.join(' ')}; undici ${upload.times.undici.join(' ')}`);
      report.measured(LINES.upload, round(upload.ratio, 3));

      const download = await compare(
        rounds,
        () => fetcher.download(output(0), 0, 0, 1),
        async () => {
          const url = new URL(output(0));
          const { body } = await pool.request({ method: 'GET', path: url.pathname });
          const chunks: Buffer[] = [];
          for await (const chunk of body) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks);
        },
      );
      report.note(`files: download ${SIZE / 1e6} MB, ms ours ${download.times.ours.join(' ')}; undici ${download.times.undici.join(' ')}`);
      report.measured(LINES.download, round(download.ratio, 3));

      const before = heldMemory();
      let peak = 0;
      const sampler = setInterval(() => {
        const usage = process.memoryUsage();
        peak = Math.max(peak, usage.heapUsed + usage.arrayBuffers);
      }, 5);
      const outputs = Array.from({ length: OUTPUTS }, (_, i) => output(i));
      const files = await fetcher.outputFilesOf({ id: 'bench', status: 'succeeded', output: outputs });
      clearInterval(sampler);
      const delivered = files!.reduce((sum, file) => sum + file.size, 0);
      const held = heldMemory() - before;
      const growth = Math.max(peak, before + held) - before;
      report.note(
        `files: ${OUTPUTS} outputs of ${SIZE / 1e6} MB in buffer mode: ${round(delivered / 1e6, 1)} MB delivered, ` +
          `peak growth ${round(growth / 1e6, 1)} MB, ${round(held / 1e6, 1)} MB held after collection`,
      );
      report.detail('files', { upload, download, delivered, peakGrowth: growth, held });
      report.measured(LINES.heap, round(growth / delivered, 3));
      files!.length = 0;
    } finally {
      await Promise.all([client.close(), fetcher.close(), pool.close()]);
      await worker.call('stopEmulator');
    }
  },
};
