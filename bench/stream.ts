// Streaming (#13): a create node in stream mode against the emulator's text models.
// 1. First chunk: the time from the emulator writing a prediction's first `output` event to a
//    connection (each has its own timer, so each reader is timed from its own write) to the
//    first message on output 1 (as the node sends it, seen by an `onSend` hook; its arrival at the
//    next node, after Node-RED's own delivery, is reported beside it), against raw undici (with
//    eventsource-parser) reading the same prediction's stream in the same process at the same time,
//    both timed the same way. What is reported is the milliseconds the node adds, median and p95
//    over the rounds: a ratio of two sub-millisecond times swung with the scheduling between the
//    processes (rounds of ~0.3 or ~1.2 ms), not with our code. Each round, the node creates a
//    prediction that starts after STARTING_MS; the bench learns its stream from the emulator as soon
//    as the node asks for it and opens its own connection to it, well before the first token.
// 2. Throughput: 100 streams at once of 1,000 chunks each (quick: 200), every chunk delivered
//    once and in order, and the CPU time of the Node-RED process per chunk.
import { performance } from 'node:perf_hooks';
import { createParser } from 'eventsource-parser';
import { Agent } from 'undici';
import { DEFAULT_TOKEN } from '../emulator';
import type { Bench, BenchContext, PlannedLine } from './context';
import { BENCH_CONFIG_NOTE, benchConfig, onTab } from './node-red-host';
import { median, percentile, round, sleep, Tally } from './util';

const LLAMA = 'meta/meta-llama-3-8b-instruct';
const STARTING_MS = 400;
const now = () => performance.timeOrigin + performance.now();

function sizes(quick: boolean) {
  return quick ? { rounds: 9, streams: 100, chunks: 200 } : { rounds: 21, streams: 100, chunks: 1000 };
}

function lines(quick: boolean) {
  const { streams, chunks } = sizes(quick);
  return {
    added: { name: 'stream.first_chunk_added_ms', target: { op: '<', value: 1 }, unit: 'ms' },
    addedP95: { name: 'stream.first_chunk_added_ms_p95', target: { op: '<', value: 3 }, unit: 'ms' },
    inOrder: { name: 'stream.chunks_in_order', target: { op: '==', value: streams * chunks }, unit: 'chunks' },
    cpu: { name: 'stream.cpu_us_per_chunk', target: { op: '<', value: 200 }, unit: 'µs' },
  } satisfies Record<string, PlannedLine>;
}

export const streamBench: Bench = {
  name: 'stream',
  needsRuntime: true,
  lines: (quick) => Object.values(lines(quick)),
  run,
};

/** The first `output` event's arrival on a raw undici connection to the stream. */
async function rawFirstOutput(agent: Agent, url: string, signal: AbortSignal): Promise<number> {
  const target = new URL(url);
  const { body } = await agent.request({
    origin: target.origin,
    path: target.pathname,
    method: 'GET',
    headers: { accept: 'text/event-stream' }, // the stream origin wants no token, as Replicate's
    signal,
  });
  const decoder = new TextDecoder();
  return new Promise((resolve, reject) => {
    const parser = createParser({
      onEvent(event) {
        if (event.event !== 'output') return;
        resolve(now());
        body.destroy();
      },
    });
    body.on('data', (chunk: Buffer) => parser.feed(decoder.decode(chunk, { stream: true })));
    body.on('error', () => undefined);
    body.on('close', () => reject(new Error('the raw stream ended before an output event')));
  });
}

async function run({ quick, worker, red, report }: BenchContext): Promise<void> {
  const { rounds, streams, chunks } = sizes(quick);
  const line = lines(quick);
  const emulator = await worker.call('startEmulator', { recordRequests: 100_000, timing: { startingMs: STARTING_MS, processingMs: 600 } });
  await red.deploy(
    [
      benchConfig('stream-cfg', emulator.url),
      ...onTab('stream-tab', [
        {
          id: 'stream-create',
          type: 'replicate-create-prediction',
          replicate: 'stream-cfg',
          model: LLAMA,
          input: '{}',
          wait: 'stream',
          pollInterval: 0.5,
          maxPolls: 120,
          validateInput: false,
          combineMs: 0,
          sendLogs: false,
          wires: [['stream-text'], ['stream-final']],
        },
        { id: 'stream-text', type: 'bench-sink', name: 'stream.text' },
        { id: 'stream-final', type: 'bench-sink', name: 'stream.final' },
        { id: 'stream-catch', type: 'catch', scope: null, uncaught: false, wires: [['stream-errors']] },
        { id: 'stream-errors', type: 'bench-sink', name: 'stream.errors' },
      ]),
    ],
    { 'stream-cfg': { token: DEFAULT_TOKEN } },
  );
  report.note(`stream: ${LLAMA} on the emulator, starting after ${STARTING_MS} ms; ${BENCH_CONFIG_NOTE}`);

  let errors = 0;
  let firstError = '';
  red.onSink('stream.errors', (msg) => {
    errors++;
    firstError ||= String((msg.error as { message?: string } | undefined)?.message ?? 'unknown error');
  });

  // 1. The first chunk, ours and raw undici's, for the same prediction in each round.
  const firstOurs = new Map<string, number>();
  const firstDelivered = new Map<string, number>();
  const finals = new Tally();
  const removeHook = red.addHook('onSend', (events) => {
    for (const { msg, source } of events) {
      const parts = msg.parts as { id: string; index: number } | undefined;
      if (source.id === 'stream-create' && source.port === 0 && parts?.index === 0) firstOurs.set(parts.id, now());
    }
  });
  red.onSink('stream.text', (msg) => {
    const parts = msg.parts as { id: string; index: number };
    if (parts.index === 0) firstDelivered.set(parts.id, now());
  });
  red.onSink('stream.final', () => finals.add());
  const agent = new Agent();
  const added: number[] = [];
  const oursMs: number[] = [];
  const rawMs: number[] = [];
  const deliveredMs: number[] = [];
  const node = red.node('stream-create');
  try {
    for (let round_ = 0; round_ <= rounds; round_++) {
      const before = (await worker.call('streamed')).length;
      node.receive({ payload: { prompt: 'Why is the sky blue?' } });
      let id = '';
      let url = '';
      const started = performance.now();
      while (!id && performance.now() - started < 5000) {
        const opened = await worker.call('streamed');
        if (opened.length > before) ({ id, url } = opened.at(-1)!);
        else await sleep(2);
      }
      if (!id) throw new Error('the node did not open a stream');
      const abort = new AbortController();
      const raw = await rawFirstOutput(agent, url, abort.signal);
      await finals.reached(round_ + 1, 30_000, 'finished predictions');
      // each connection gets its first token on its own timer: the node's connected first, raw undici's second
      const [writtenOurs, writtenRaw] = (await worker.call('firstOutputs', [id]))[id] ?? [null, null];
      const ours = firstOurs.get(id);
      if (writtenOurs === null || writtenRaw === null || ours === undefined) throw new Error(`no first chunk measured for ${id}`);
      if (round_ === 0) continue; // warm-up
      const oursLatency = ours - writtenOurs;
      const rawLatency = raw - writtenRaw;
      oursMs.push(oursLatency);
      deliveredMs.push((firstDelivered.get(id) ?? NaN) - writtenOurs);
      rawMs.push(rawLatency);
      added.push(oursLatency - rawLatency);
    }
  } finally {
    removeHook();
    await agent.close();
  }
  report.note(
    `stream: first chunk after the emulator wrote it, median of ${rounds} rounds: ours ${round(median(oursMs), 2)} ms, ` +
      `raw undici ${round(median(rawMs), 2)} ms, ours at the next node (after Node-RED's delivery) ${round(median(deliveredMs), 2)} ms; rounds (ours/raw ms): ${oursMs.map((o, i) => `${round(o, 2)}/${round(rawMs[i]!, 2)}`).join(' ')}`,
  );
  report.measured(line.added, round(median(added), 2));
  report.measured(line.addedP95, round(percentile(added, 95), 2));

  // 2. 100 streams of `chunks` tokens each, at once.
  await worker.call('faults', [
    { type: 'outcome', status: 'succeeded', output: Array.from({ length: chunks }, (_, i) => `t${i} `), times: streams },
    { type: 'timing', startingMs: 200, processingMs: Math.max(2000, chunks * 5), times: streams },
  ]);
  const next = new Map<string, number>();
  let inOrder = 0;
  let outOfOrder = 0;
  const done = new Tally();
  red.onSink('stream.text', (msg) => {
    const parts = msg.parts as { id: string; index: number; count?: number };
    const expected = next.get(parts.id) ?? 0;
    if (parts.index !== expected) outOfOrder++;
    next.set(parts.id, parts.index + 1);
    if (parts.count !== undefined) return;
    if (msg.payload === `t${parts.index} `) inOrder++;
    else outOfOrder++;
  });
  red.onSink('stream.final', () => done.add());
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < streams; i++) node.receive({ payload: { prompt: `question ${i}` }, topic: `t${i}` });
  await done.reached(streams, 120_000, 'streams finished');
  const cpu = process.cpuUsage(cpuBefore);
  const elapsed = performance.now() - started;
  const cpuUs = (cpu.user + cpu.system) / (streams * chunks);
  report.note(
    `stream: ${streams} streams x ${chunks} chunks in ${Math.round(elapsed)} ms, ${outOfOrder} out of order or wrong, ` +
      `${errors} errors${firstError ? ` (first: ${firstError})` : ''}; CPU of the Node-RED process ${round((cpu.user + cpu.system) / 1000)} ms`,
  );
  report.detail('stream', {
    oursMs,
    rawMs,
    deliveredMs,
    added,
    elapsedMs: elapsed,
    cpuMs: (cpu.user + cpu.system) / 1000,
    outOfOrder,
    errors,
  });
  report.measured(line.inOrder, outOfOrder === 0 && errors === 0 ? inOrder : inOrder - outOfOrder);
  report.measured(line.cpu, round(cpuUs, 1));
  await red.clear();
}
