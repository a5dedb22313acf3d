// Queued faults: each applies to the next `times` matching requests. Outcome and timing faults
// shape the next created predictions; the others change how a request is answered.
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { json, problem, type ApiResponse } from './responses';
import type { FaultMatch, FaultSpec } from './types';

type CreationFault = Extract<FaultSpec, { type: 'outcome' | 'timing' }>;
type StreamFaultSpec = Extract<FaultSpec, { type: 'stream' }>;
export type RequestFault = Exclude<FaultSpec, CreationFault | StreamFaultSpec>;

interface Queued {
  spec: FaultSpec;
  remaining: number;
}

function matches(match: FaultMatch | undefined, method: string, path: string): boolean {
  if (match?.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false;
  if (match?.path === undefined) return true;
  return typeof match.path === 'string' ? match.path === path : new RegExp(match.path).test(path);
}

export class FaultQueue {
  fired = 0;
  private queue: Queued[] = [];

  add(spec: FaultSpec): void {
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new Error(`A fault's times must be positive (got ${times})`);
    this.queue.push({ spec, remaining: times });
  }

  clear(): void {
    this.queue = [];
  }

  /** The fault, other than outcome and timing, that the request now consumes. */
  takeRequestFault(method: string, path: string): RequestFault | undefined {
    return this.take(
      (spec): spec is RequestFault => spec.type !== 'outcome' && spec.type !== 'timing' && spec.type !== 'stream',
      method,
      path,
    );
  }

  /** The stream fault (drop after N events, multi-line framing) the event-stream request now consumes. */
  takeStreamFault(method: string, path: string): StreamFaultSpec | undefined {
    return this.take((spec): spec is StreamFaultSpec => spec.type === 'stream', method, path);
  }

  takeCreationFault<T extends CreationFault['type']>(type: T, method: string, path: string): Extract<FaultSpec, { type: T }> | undefined {
    return this.take((spec): spec is Extract<FaultSpec, { type: T }> => spec.type === type, method, path);
  }

  private take<S extends FaultSpec>(kind: (spec: FaultSpec) => spec is S, method: string, path: string): S | undefined {
    const index = this.queue.findIndex((q) => kind(q.spec) && matches(q.spec.match, method, path));
    const queued = this.queue[index];
    if (!queued || !kind(queued.spec)) return undefined;
    queued.remaining--;
    if (queued.remaining <= 0) this.queue.splice(index, 1);
    this.fired++;
    return queued.spec;
  }
}

const terminalStatus = z.enum(['succeeded', 'failed', 'canceled', 'aborted']);
const common = {
  match: z.strictObject({ method: z.string().optional(), path: z.string().optional(), pathPattern: z.string().optional() }).optional(),
  // -1 stands for Infinity, which JSON cannot carry.
  times: z.number().int().min(-1).optional(),
};

const faultJson = z.discriminatedUnion('type', [
  z.strictObject({
    ...common,
    type: z.literal('status'),
    status: z.number().int().min(100).max(599),
    body: z.unknown().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    process: z.boolean().optional(),
  }),
  z.strictObject({
    ...common,
    type: z.literal('rate-limit'),
    retryAfterSeconds: z.number().min(0).optional(),
    via: z.enum(['header', 'body', 'detail']).optional(),
  }),
  z.strictObject({ ...common, type: z.literal('delay'), ms: z.number().min(0), after: z.boolean().optional() }),
  z.strictObject({ ...common, type: z.literal('drop'), after: z.boolean().optional() }),
  z.strictObject({ ...common, type: z.literal('malformed'), status: z.number().int().min(100).max(599).optional() }),
  z.strictObject({
    ...common,
    type: z.literal('outcome'),
    status: terminalStatus,
    error: z.string().optional(),
    output: z.unknown().optional(),
  }),
  z.strictObject({ ...common, type: z.literal('timing'), startingMs: z.number().min(0), processingMs: z.number().min(0) }),
  z.strictObject({ ...common, type: z.literal('invalid-prediction') }),
  z.strictObject({
    ...common,
    type: z.literal('stream'),
    dropAfter: z.number().int().min(0).optional(),
    multiline: z.boolean().optional(),
  }),
]);

/** A fault sent to the HTTP control API as JSON: a RegExp path comes as match.pathPattern, Infinity as times -1. */
export function parseFaultJson(value: unknown): { fault: FaultSpec } | { error: string } {
  const parsed = faultJson.safeParse(value);
  if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'fault'}: ${i.message}`).join('; ') };
  const { match, times, ...rest } = parsed.data;
  if (match?.path !== undefined && match.pathPattern !== undefined) return { error: 'match: give path or pathPattern, not both' };
  let pattern: RegExp | undefined;
  try {
    pattern = match?.pathPattern === undefined ? undefined : new RegExp(match.pathPattern);
  } catch (error) {
    return { error: `match.pathPattern: ${(error as Error).message}` };
  }
  const fault = {
    ...rest,
    match: match && { method: match.method, path: pattern ?? match.path },
    times: times === -1 ? Infinity : times,
  } as FaultSpec;
  return { fault };
}

/** The answer a status fault gives: its body as JSON (verbatim when a string), else a problem. */
export function statusFaultResponse(fault: Extract<FaultSpec, { type: 'status' }>): ApiResponse {
  const base =
    fault.body === undefined
      ? problem(fault.status, STATUS_CODES[fault.status] ?? 'Error', `Emulated fault: HTTP ${fault.status}`)
      : typeof fault.body === 'string'
        ? { status: fault.status, body: fault.body, contentType: 'text/plain' }
        : { ...json(fault.status, fault.body), contentType: fault.status >= 400 ? 'application/problem+json' : 'application/json' };
  return { ...base, headers: fault.headers };
}

/** 429 the three ways Replicate tells a client how long to wait; each variant carries it one way only. */
export function rateLimitResponse(fault: Extract<FaultSpec, { type: 'rate-limit' }>): ApiResponse {
  const seconds = fault.retryAfterSeconds ?? 1;
  switch (fault.via ?? 'header') {
    case 'header':
      return { ...problem(429, 'Too Many Requests', 'Request was throttled.'), headers: { 'retry-after': String(Math.ceil(seconds)) } };
    case 'body':
      return problem(429, 'Too Many Requests', 'Request was throttled.', { retry_after: seconds });
    case 'detail':
      return problem(429, undefined, `Request was throttled. Your rate limit resets in ~${seconds}s.`);
  }
}

/** The real answer cut short, so it is no longer JSON. */
export function malformedResponse(response: ApiResponse, status: number | undefined): ApiResponse {
  const body = response.body.slice(0, Math.max(1, Math.floor(response.body.length / 2)));
  return { status: status ?? response.status, body, contentType: 'application/json' };
}

/** A 2xx answer that is JSON but not a prediction. */
export function invalidPredictionResponse(response: ApiResponse): ApiResponse {
  const status = response.status >= 200 && response.status < 300 ? response.status : 200;
  return json(status, { status: 'exploded', detail: 'The emulator was asked to answer with something that is not a prediction.' });
}
