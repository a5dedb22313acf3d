// Server-sent events, as Replicate streams them: `urls.stream` on a second origin of the
// emulator's own (another port of its host, standing in for Replicate's streaming host), read
// without a token (one sent anyway is ignored: the URL's random id is what gives access), for
// every prediction with output. A text output streams one `output` event per token (a string
// whole), a file output one per file URL on a `/v1/files/` stream (where the official clients look
// for files); then `logs`, `error` when it fails and `done` at the end. Event ids are opaque; a
// reconnect with Last-Event-ID resumes after that event. Faults drop a stream after N output
// events or frame events in the other legal ways (CRLF line ends, one write per line).
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { isTerminal, type PredictionRecord } from './predictions';
import type { CatalogModel } from './catalog';
import type { Timers } from './timers';

export interface StreamFault {
  /** Ends the connection (a dropped socket, no `done`) after this many output events. */
  dropAfter?: number;
  /** Frames events with CRLF line ends, each line written on its own. */
  multiline?: boolean;
}

/** Paths of the stream origin: /v1/streams/<id> (text) and /v1/files/<id> (files). */
export const STREAM_PATH = /^\/v1\/(streams|files)\/([A-Za-z0-9_-]{20,64})$/;

/** Whether a value is a file as an output names one: an http(s) or data: URL. */
const isFileUrl = (value: unknown): boolean => typeof value === 'string' && /^(https?:\/\/\S+$|data:[^,]*,)/i.test(value);

/** How an output streams: text, files, or (no output) not at all. */
export function streamKindOf(output: unknown): 'text' | 'files' | undefined {
  if (output === null || output === undefined) return undefined;
  if (Array.isArray(output) ? output.length > 0 && output.every(isFileUrl) : isFileUrl(output)) return 'files';
  return 'text';
}

export class StreamHub {
  readonly open = new Set<ServerResponse>();
  /** The stream origin's port, once it listens. */
  port = 0;
  private readonly firstOutputs = new Map<string, number[]>();
  private readonly byStreamId = new Map<string, PredictionRecord>();

  /** A new stream's URL on the stream origin, as reached from `apiUrl` (the same host name, the stream port). */
  newStreamUrl(apiUrl: URL, kind: 'text' | 'files'): string {
    const id = randomBytes(24).toString('base64url');
    return `${apiUrl.protocol}//${apiUrl.hostname}:${this.port}/v1/${kind === 'files' ? 'files' : 'streams'}/${id}`;
  }

  /** The prediction a stream URL was made for, once it exists. */
  register(p: PredictionRecord): void {
    if (p.streamUrl !== undefined) this.byStreamId.set(new URL(p.streamUrl).pathname, p);
  }

  /** The prediction whose stream is at this path. */
  find(path: string): PredictionRecord | undefined {
    return this.byStreamId.get(path);
  }

  /** The first output event's time on a prediction's nth connection (0: the first to connect). */
  firstOutputAt(id: string, connection = 0): number | undefined {
    const at = this.firstOutputs.get(id)?.[connection];
    return Number.isNaN(at) ? undefined : at;
  }

  /** A new connection to the prediction's stream: its number, for wroteOutput. */
  connected(id: string): number {
    const times = this.firstOutputs.get(id) ?? [];
    this.firstOutputs.set(id, times);
    return times.push(NaN) - 1;
  }

  wroteOutput(id: string, connection: number): void {
    const times = this.firstOutputs.get(id);
    if (times && Number.isNaN(times[connection])) times[connection] = performance.timeOrigin + performance.now();
  }

  clear(): void {
    this.firstOutputs.clear();
    this.byStreamId.clear();
  }
}

interface Event {
  name: 'output' | 'logs' | 'error' | 'done';
  data: string;
  at: number;
}

const asData = (item: unknown): string => (typeof item === 'string' ? item : JSON.stringify(item));

/** The output events of a run (its final output when it succeeds, else what it would have generated): one per element. */
function tokensOf(p: PredictionRecord): string[] {
  const output = p.end.status === 'succeeded' ? p.end.output : p.eventualOutput;
  if (output === null || output === undefined) return [];
  return Array.isArray(output) ? output.map(asData) : [asData(output)];
}

/**
 * Event `seq` of the prediction's stream, or undefined past the end. In sequence: 0 the first
 * logs line, 1..n the tokens, then `error` (failed only) and `done`. Tokens due after the end
 * (a cancel, an early finish) are never sent.
 */
function eventAt(p: PredictionRecord, tokens: string[], seq: number): Event | undefined {
  if (seq === 0) return { name: 'logs', data: `Running ${p.model} (emulated)`, at: p.startAt };
  const token = tokens[seq - 1];
  if (token !== undefined) {
    const at = p.startAt + (p.processingMs * seq) / (tokens.length + 1);
    if (at < p.end.at || p.end.status === 'succeeded') return { name: 'output', data: token, at: Math.min(at, p.end.at) };
    return eventAt(p, tokens, tokens.length + 1);
  }
  if (seq === tokens.length + 1 && p.end.status === 'failed')
    return { name: 'error', data: JSON.stringify({ detail: p.end.error ?? 'Prediction failed' }), at: p.end.at };
  const doneSeq = tokens.length + (p.end.status === 'failed' ? 2 : 1);
  if (seq !== doneSeq) return undefined;
  const reason = p.end.status === 'succeeded' ? {} : { reason: p.end.status === 'failed' ? 'error' : p.end.status };
  return { name: 'done', data: JSON.stringify(reason), at: p.end.at };
}

/** The id a token-skipping jump lands on: the event's own sequence number. */
function seqOf(p: PredictionRecord, tokens: string[], seq: number, event: Event): number {
  if (event.name === 'error') return tokens.length + 1;
  if (event.name === 'done') return tokens.length + (p.end.status === 'failed' ? 2 : 1);
  return seq;
}

/** An event's id as the client sees it: opaque (the prediction's start and the sequence number, as a stream store writes ids). */
const eventId = (p: PredictionRecord, seq: number): string => `${p.startAt}-${seq}`;

/** The sequence number to go on from after the event a Last-Event-ID names; 0 for one this stream never sent. */
function resumeAfter(p: PredictionRecord, lastEventId: string | undefined): number {
  const match = /^(\d+)-(\d+)$/.exec(lastEventId ?? '');
  return match && Number(match[1]) === p.startAt ? Number(match[2]) + 1 : 0;
}

function frame(id: string, event: Event, multiline: boolean): string[] {
  const lines = [`id: ${id}`, `event: ${event.name}`, ...event.data.split(/\r\n|\r|\n/).map((line) => `data: ${line}`)];
  if (!multiline) return [`${lines.join('\n')}\n\n`];
  return [...lines.map((line) => `${line}\r\n`), '\r\n'];
}

/** Writes the prediction's events as they come due, from after `lastEventId`, until `done` (or the client leaves). */
export async function serveStream(
  res: ServerResponse,
  p: PredictionRecord,
  hub: StreamHub,
  timers: Timers,
  lastEventId: string | undefined,
  fault: StreamFault | undefined,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.flushHeaders();
  hub.open.add(res);
  res.on('close', () => hub.open.delete(res));
  const connection = hub.connected(p.id);
  let seq = resumeAfter(p, lastEventId);
  let outputs = 0;
  while (!res.destroyed && !timers.stopped) {
    const now = Date.now();
    const tokens = tokensOf(p);
    const writes: string[] = [];
    let ended = false;
    let dropped = false;
    for (let event = eventAt(p, tokens, seq); event && event.at <= now && (event.name !== 'done' || isTerminal(p, now));) {
      seq = seqOf(p, tokens, seq, event);
      writes.push(...frame(eventId(p, seq), event, fault?.multiline === true));
      seq++;
      if (event.name === 'output') {
        outputs++;
        if (fault?.dropAfter !== undefined && outputs >= fault.dropAfter) {
          dropped = true;
          break;
        }
      }
      if (event.name === 'done') {
        ended = true;
        break;
      }
      event = eventAt(p, tokens, seq);
    }
    if (writes.length > 0) {
      for (const text of writes) res.write(text);
      if (outputs > 0) hub.wroteOutput(p.id, connection);
    }
    if (dropped) {
      // the socket goes once what was written has left, so the client sees the events then the drop
      res.once('drain', () => res.socket?.destroy());
      if (!res.writableNeedDrain) setImmediate(() => res.socket?.destroy());
      return;
    }
    if (ended) {
      res.end();
      return;
    }
    const next = eventAt(p, tokens, seq);
    const due = next ? Math.max(next.at, next.name === 'done' ? p.end.at : next.at) : p.end.at;
    const sleep = timers.sleep(Math.max(1, due - Date.now() + 1));
    p.waiters.add(sleep.wake);
    const wake = () => sleep.wake();
    res.once('close', wake);
    await sleep.done;
    res.off('close', wake);
    p.waiters.delete(sleep.wake);
  }
}

/** Models whose output is a list of strings generated one by one: Replicate's language models. */
export function streamsText(model: CatalogModel): boolean {
  const schemas = (model.latest_version?.openapi_schema as { components?: { schemas?: Record<string, unknown> } } | undefined)?.components
    ?.schemas;
  const output = schemas?.Output as Record<string, unknown> | undefined;
  return (
    output?.type === 'array' &&
    (output.items as { type?: unknown } | undefined)?.type === 'string' &&
    (output['x-cog-array-type'] === 'iterator' || output['x-cog-array-display'] === 'concatenate')
  );
}
