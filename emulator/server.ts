// The HTTP server: reads each request, records it, applies queued faults around the Replicate API
// and serves the control API under /_emulator.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  invalidPredictionResponse,
  malformedResponse,
  rateLimitResponse,
  statusFaultResponse,
  type FaultQueue,
  type RequestFault,
} from './faults';
import { MAX_FILE_BYTES } from './files-api';
import { OUTPUTS_PREFIX, serveOutput } from './output-files';
import { handleApi, routeName, type ApiRequest, type EmulatorContext } from './replicate-api';
import type { RequestLog } from './request-log';
import type { RecordedRequest } from './types';
import { notFound, problem, type ApiResponse } from './responses';
import { serveStream, STREAM_PATH } from './streams';
import type { Timers } from './timers';

const API_PREFIX = '/v1';
const CONTROL_PREFIX = '/_emulator';
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface ControlRequest {
  method: string;
  /** Pathname after /_emulator. */
  path: string;
  query: URLSearchParams;
  body: string;
}

export interface ServerDeps {
  ctx: EmulatorContext;
  faults: FaultQueue;
  requestLog: RequestLog;
  timers: Timers;
  counters: { requests: number; byRoute: Record<string, number> };
  control(request: ControlRequest): ApiResponse;
  log?: (line: string) => void;
  recordResponses: boolean;
}

type Answer = ApiResponse | 'drop';

export interface EmulatorServer {
  /** For what attaches to the server itself (Node-RED's editor websocket). */
  server: http.Server;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

export function createEmulatorServer(deps: ServerDeps): EmulatorServer {
  return closableServer((req, res) => void serve(deps, req, res).catch((error: unknown) => answerBug(res, error)));
}

/** The stream origin: predictions' event streams, on a port of their own, read without a token. */
export function createStreamServer(deps: ServerDeps): EmulatorServer {
  return closableServer((req, res) => void serveStreamOrigin(deps, req, res).catch((error: unknown) => answerBug(res, error)));
}

// A bug in the emulator answers 500 rather than taking the process down.
function answerBug(res: ServerResponse, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  if (!res.headersSent && !res.destroyed) send(res, problem(500, 'Internal emulator error', message));
  else res.destroy();
}

/** An HTTP server whose close() ends its open connections too, keep-alive ones included. */
export function closableServer(handler: http.RequestListener): EmulatorServer {
  const sockets = new Set<Socket>();
  const server = http.createServer(handler);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      }),
    close: async () => {
      const socketsClosed = [...sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      await Promise.all(socketsClosed);
    },
  };
}

async function serve(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', `http://${hostOf(req)}`);
  if (method === 'GET' && url.pathname.startsWith(OUTPUTS_PREFIX)) return serveOutputFile(deps, req, res, url, started);
  const upload = method === 'POST' && url.pathname === `${API_PREFIX}/files`;
  const raw = await readBytes(req, upload ? MAX_FILE_BYTES + 1024 * 1024 : MAX_BODY_BYTES);
  // an upload is logged by its size: tests and benchmarks send tens of megabytes
  const body = raw === undefined ? undefined : upload ? `[${raw.length} bytes]` : raw.toString('utf8');
  let answer: Answer;
  if (body === undefined) answer = problem(413, 'Payload Too Large', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
  else if (url.pathname === CONTROL_PREFIX || url.pathname.startsWith(`${CONTROL_PREFIX}/`))
    answer = deps.control({ method, path: url.pathname.slice(CONTROL_PREFIX.length), query: url.searchParams, body });
  else {
    const recorded: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body,
      at: started,
    };
    deps.requestLog.record(recorded);
    answer = await serveApi(deps, { method, path: url.pathname, url, headers: req.headers, body, raw: upload ? raw : undefined });
    if (deps.recordResponses && answer !== 'drop' && !answer.stream && !answer.bytes)
      recorded.response = { status: answer.status, contentType: answer.contentType, body: answer.body };
  }
  if (answer === 'drop') req.socket.destroy();
  else if (answer.stream && !res.destroyed) await answer.stream(res);
  else if (!res.destroyed) send(res, answer);
  const outcome = answer === 'drop' ? 'dropped' : answer.status;
  deps.log?.(`${new Date(started).toISOString()} ${method} ${url.pathname}${url.search} ${outcome} ${Date.now() - started}ms`);
}

async function serveApi(deps: ServerDeps, request: ApiRequest): Promise<Answer> {
  const isApi = request.path === API_PREFIX || request.path.startsWith(`${API_PREFIX}/`);
  const path = isApi ? request.path.slice(API_PREFIX.length) : request.path;
  const route = isApi ? routeName(request.method, path) : 'unmatched';
  countRequest(deps, route);
  if (!isApi) return notFound();

  const apiRequest = { ...request, path };
  const fault = deps.faults.takeRequestFault(request.method, path);
  const early = fault && (await beforeHandling(deps, fault));
  if (early) return early;
  const response = await handleApi(deps.ctx, apiRequest);
  return fault ? afterHandling(deps, fault, response) : response;
}

/** A fault that answers instead of the API, or undefined to go on handling the request. */
async function beforeHandling(deps: ServerDeps, fault: RequestFault): Promise<Answer | undefined> {
  switch (fault.type) {
    case 'status':
      return fault.process ? undefined : statusFaultResponse(fault);
    case 'rate-limit':
      return rateLimitResponse(fault);
    case 'delay':
      if (!fault.after) await deps.timers.sleep(fault.ms).done;
      return undefined;
    case 'drop':
      return fault.after ? undefined : 'drop';
    default:
      return undefined;
  }
}

/** The answer once the request has been handled (the prediction is created, say). */
async function afterHandling(deps: ServerDeps, fault: RequestFault, response: ApiResponse): Promise<Answer> {
  switch (fault.type) {
    case 'status':
      return statusFaultResponse(fault);
    case 'delay':
      if (fault.after) await deps.timers.sleep(fault.ms).done;
      return response;
    case 'drop':
      return 'drop';
    case 'malformed':
      return malformedResponse(response, fault.status);
    case 'invalid-prediction':
      return invalidPredictionResponse(response);
    case 'rate-limit':
      return response;
  }
}

function send(res: ServerResponse, response: ApiResponse): void {
  const headers: Record<string, string | number> = {
    'content-type': response.contentType,
    'content-length': response.bytes?.length ?? Buffer.byteLength(response.body),
  };
  for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
  res.writeHead(response.status, headers);
  res.end(response.bytes ?? response.body);
}

// Links in responses use the host the client addressed, so they work however it connected.
function hostOf(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  if (/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/.test(host)) return host;
  const local = req.socket.localAddress ?? '127.0.0.1';
  return `${local.includes(':') ? `[${local}]` : local}:${req.socket.localPort ?? 80}`;
}

/** The body as text, or undefined when it is too large. */
export async function readBody(req: IncomingMessage): Promise<string | undefined> {
  return (await readBytes(req, MAX_BODY_BYTES))?.toString('utf8');
}

/** The body's bytes, or undefined when there are more than `limit` (the rest is read and dropped). */
async function readBytes(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= limit) chunks.push(buffer);
  }
  return size > limit ? undefined : Buffer.concat(chunks, size);
}

function countRequest(deps: ServerDeps, route: string): void {
  deps.counters.requests++;
  deps.counters.byRoute[route] = (deps.counters.byRoute[route] ?? 0) + 1;
}

/** A request outside the API (a GET of a stream or an output file) recorded like an API request and counted under `route`; its body is read and dropped. */
async function recordBodiless(
  deps: ServerDeps,
  req: IncomingMessage,
  method: string,
  url: URL,
  started: number,
  route: string,
): Promise<void> {
  for await (const chunk of req) void chunk; // a GET has no body to speak of
  deps.requestLog.record({
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { ...req.headers },
    body: '',
    at: started,
  });
  countRequest(deps, route);
}

/**
 * GET /v1/streams/<id> or /v1/files/<id> on the stream origin: recorded like API requests, with
 * the request and stream faults queued for its path (after /v1, as for the API). No token is
 * asked for, and one sent is not looked at.
 */
async function serveStreamOrigin(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', `http://${hostOf(req)}`);
  await recordBodiless(deps, req, method, url, started, 'GET /streams');
  const path = url.pathname.slice(API_PREFIX.length);
  const fault = deps.faults.takeRequestFault(method, path);
  const early = fault && (await beforeHandling(deps, fault));
  const prediction = STREAM_PATH.test(url.pathname) ? deps.ctx.streams.hub.find(url.pathname) : undefined;
  let answer: Answer;
  if (early) answer = early;
  else if (method !== 'GET' || !prediction) answer = notFound();
  else {
    const streamFault = deps.faults.takeStreamFault(method, path);
    const lastEventId = typeof req.headers['last-event-id'] === 'string' ? req.headers['last-event-id'] : undefined;
    answer = {
      status: 200,
      body: '',
      contentType: 'text/event-stream',
      stream: (out) => serveStream(out, prediction, deps.ctx.streams.hub, deps.ctx.streams.timers, lastEventId, streamFault),
    };
    if (fault) answer = await afterHandling(deps, fault, answer);
  }
  if (answer === 'drop') req.socket.destroy();
  else if (answer.stream && !res.destroyed) await answer.stream(res);
  else if (!res.destroyed) send(res, answer);
  deps.log?.(
    `${new Date(started).toISOString()} ${method} ${url.pathname} ${answer === 'drop' ? 'dropped' : answer.status} ${Date.now() - started}ms`,
  );
}

/** GET /outputs/...: recorded like API requests, with the status and drop faults queued for its path. */
async function serveOutputFile(deps: ServerDeps, req: IncomingMessage, res: ServerResponse, url: URL, started: number): Promise<void> {
  await recordBodiless(deps, req, 'GET', url, started, 'GET /outputs');
  const fault = deps.faults.takeRequestFault('GET', url.pathname);
  if (fault?.type === 'status') return send(res, statusFaultResponse(fault));
  if (fault?.type === 'drop' && !fault.after) return void req.socket.destroy();
  if (fault?.type === 'delay') await deps.timers.sleep(fault.ms).done;
  if (!serveOutput(req, res, url, deps.ctx.outputFiles, fault?.type === 'drop' ? 'cut' : 'whole')) send(res, notFound());
}
