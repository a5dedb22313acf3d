// The control API under /_emulator (no auth): the programmatic API over HTTP, for benchmarks and
// tools running in another process.
import { z } from 'zod';
import { parseFaultJson } from './faults';
import { badRequest, json, problem, type ApiResponse } from './responses';
import type { ControlRequest } from './server';
import type { EmulatorStats, FaultSpec, PredictionOutcome, ReceivedFile, RecordedRequest } from './types';

export interface ControlSurface {
  fault(spec: FaultSpec): void;
  clearFaults(): void;
  stats(): EmulatorStats;
  recentRequests(limit: number): RecordedRequest[];
  prediction(id: string): Record<string, unknown> | undefined;
  finish(id: string, outcome: PredictionOutcome): void;
  /** Removes a finished prediction's data now. */
  expire(id: string): void;
  reset(): void;
  /** The file inputs a prediction received, with their bytes. */
  fileInputs(id: string): ReceivedFile[];
}

const DEFAULT_REQUEST_LIMIT = 100;

const outcomeJson = z.strictObject({
  status: z.enum(['succeeded', 'failed', 'canceled', 'aborted']),
  output: z.unknown().optional(),
  error: z.string().optional(),
});

function parseJson(body: string): { value: unknown } | { response: ApiResponse } {
  try {
    return { value: JSON.parse(body) };
  } catch {
    return { response: badRequest('Invalid JSON', 'The request body is not valid JSON.') };
  }
}

export function handleControl(surface: ControlSurface, request: ControlRequest): ApiResponse {
  const { method, path } = request;
  if (path === '/faults' && method === 'POST') {
    const parsed = parseJson(request.body);
    if ('response' in parsed) return parsed.response;
    const result = parseFaultJson(parsed.value);
    if ('error' in result) return badRequest('Invalid fault', result.error);
    surface.fault(result.fault);
    return json(201, { queued: true });
  }
  if (path === '/faults' && method === 'DELETE') {
    surface.clearFaults();
    return json(200, { cleared: true });
  }
  if (path === '/stats' && method === 'GET') return json(200, surface.stats());
  if (path === '/requests' && method === 'GET') {
    const limit = Number(request.query.get('limit') ?? DEFAULT_REQUEST_LIMIT);
    if (!Number.isInteger(limit) || limit < 0) return badRequest('Invalid limit', 'limit must be a whole number.');
    return json(200, surface.recentRequests(limit));
  }
  if (path === '/reset' && method === 'POST') {
    surface.reset();
    return json(200, { reset: true });
  }
  const files = /^\/predictions\/([^/]+)\/files$/.exec(path);
  if (files?.[1] !== undefined && method === 'GET') {
    if (!surface.prediction(files[1])) return problem(404, 'Not found', `No prediction ${files[1]}.`);
    // the echo of the file inputs, bytes as base64, for tools in another process
    return json(
      200,
      surface.fileInputs(files[1]).map(({ bytes, ...file }) => ({ ...file, size: bytes.length, base64: bytes.toString('base64') })),
    );
  }
  const expire = /^\/predictions\/([^/]+)\/expire$/.exec(path);
  if (expire?.[1] !== undefined && method === 'POST') {
    const id = expire[1];
    if (!surface.prediction(id)) return problem(404, 'Not found', `No prediction ${id}.`);
    try {
      surface.expire(id);
    } catch (error) {
      return problem(409, 'Conflict', (error as Error).message);
    }
    return json(200, surface.prediction(id));
  }
  const finish = /^\/predictions\/([^/]+)\/finish$/.exec(path);
  if (finish?.[1] !== undefined && method === 'POST') {
    const id = finish[1];
    if (!surface.prediction(id)) return problem(404, 'Not found', `No prediction ${id}.`);
    const parsed = parseJson(request.body);
    if ('response' in parsed) return parsed.response;
    const outcome = outcomeJson.safeParse(parsed.value);
    if (!outcome.success) return badRequest('Invalid outcome', outcome.error.issues.map((i) => i.message).join('; '));
    try {
      surface.finish(id, outcome.data);
    } catch (error) {
      return problem(409, 'Conflict', (error as Error).message);
    }
    return json(200, surface.prediction(id));
  }
  return problem(404, 'Not found', `No control endpoint ${method} /_emulator${path}.`);
}
