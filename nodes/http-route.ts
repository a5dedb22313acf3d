// A POST route on RED.httpNode owned by one node, registered as core `http in` registers its
// routes: behind the user's httpNodeMiddleware, with httpNodeRoot and httpNodeAuth applied by
// Node-RED. A path another node already answers is refused rather than silently shadowed, and
// the route is spliced out when the node closes.
//
// The route gets the body as the bytes that were sent. When the admin API shares the root path
// with httpNode (the default), its JSON parser would consume the body first; so, as core
// `http in` does for "do not parse body", one middleware at the top of the root app starts
// reading the raw body of our routes before anything parses it. It picks out the requests
// exactly as Express will route them: one it missed would reach the route with its body gone,
// one it took wrongly would lose its body for whoever answers it.
//
// The capture runs before httpNodeAuth and any httpNodeMiddleware, so the route's deadline and
// size limit start there, at the first byte: a body that someone answered before it was read
// (httpNodeAuth's 401) is dropped as it arrives, and any body still arriving at the deadline
// ends with its connection, so nobody holds memory or a connection by sending slowly.
import type { IncomingMessage, ServerResponse } from 'http';
import type { NodeAPI } from 'node-red';
import type { RequestHandler } from 'express';
import type * as Core from './core';
import { core } from './lazy-core';

/** What the capture leaves on the request: its body, being read. */
export interface RawBodyRequest extends IncomingMessage {
  rawBody?: Promise<Buffer>;
  /** When the capture saw the request (Date.now()): where its deadline starts. */
  capturedAt?: number;
  /** Set by body parsers (and the capture) when they take the body. */
  _body?: boolean;
}

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: unknown;
}

interface ExpressApp {
  parent?: ExpressApp;
  mountpath?: unknown;
  enabled?(setting: string): boolean;
  lazyrouter?: () => void; // express 4 (Node-RED 3, 4): the router is made on first use
  _router?: { stack: Layer[] };
  router?: { stack: Layer[] }; // express 5 (Node-RED 5); a throwing getter in express 4
}

const isExpress4 = (app: ExpressApp) => typeof app.lazyrouter === 'function';

function stackOf(app: ExpressApp): Layer[] {
  if (isExpress4(app)) {
    app.lazyrouter!();
    return app._router?.stack ?? [];
  }
  return app.router?.stack ?? [];
}

function rootOf(app: ExpressApp): ExpressApp {
  return app.parent === undefined ? app : rootOf(app.parent);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const flags = (app: ExpressApp) => (app.enabled?.('case sensitive routing') ? '' : 'i');

/** The path of a request target as Express routes it: not decoded, `//` kept, the scheme and host of an absolute URL cut off. */
function pathnameOf(url: string): string {
  return url.replace(/^[^/?#]*:\/\/[^/?#]*/, '').replace(/[?#][\s\S]*$/, '') || '/';
}

/**
 * What a mount of `app` passes on: the path routes inside `app` match for a request to `path` in
 * its parent, or undefined when Express does not pass the request to `app`. It matches as Express
 * does: case aside, a trailing slash of the mount path optional, and (Express 4 only) one more slash after it.
 */
function mountOf(app: ExpressApp, parent: ExpressApp): (path: string) => string | undefined {
  if (typeof app.mountpath !== 'string') return () => undefined;
  if (app.mountpath === '/') return (path) => path;
  const express4 = isExpress4(parent);
  const prefix = escape(app.mountpath.replace(express4 ? /\/$/ : /\/+$/, ''));
  const pattern = new RegExp(`^${prefix}${express4 ? '/?' : '(?:/$)?'}(?=/|$)`, flags(parent));
  return (path) => {
    const match = pattern.exec(path);
    if (!match) return undefined;
    const rest = path.slice(match[0].length);
    return rest.startsWith('/') ? rest : `/${rest}`;
  };
}

/** The paths a route of `app` on `routePath` answers: case aside and a trailing slash optional, unless the app says otherwise. */
function routePattern(app: ExpressApp, routePath: string): RegExp {
  const strict = app.enabled?.('strict routing') === true;
  const base = strict ? routePath : routePath.replace(isExpress4(app) ? /\/$/ : /\/+$/, '');
  return new RegExp(`^${escape(base)}${strict ? '' : '/?'}$`, flags(app));
}

/**
 * Does a request to `path` at the root app reach the route of `app` on `routePath`? Made once per
 * route: the capture asks it for every POST this Node-RED receives.
 */
function matcherFor(app: ExpressApp, routePath: string): (path: string) => boolean {
  const mounts: Array<(path: string) => string | undefined> = [];
  for (let inner = app; inner.parent; inner = inner.parent) mounts.unshift(mountOf(inner, inner.parent));
  const route = routePattern(app, routePath);
  return (path) => {
    let inside: string | undefined = path;
    for (const mount of mounts) if ((inside = mount(inside)) === undefined) return false;
    return route.test(inside);
  };
}

/** What a route takes: the body up to `maxBodyBytes`, the whole delivery within `deadlineMs` of its first byte. */
export interface RouteLimits {
  maxBodyBytes: number;
  deadlineMs: number;
}

interface RawRoute {
  app: ExpressApp;
  matches: (path: string) => boolean;
  limits: RouteLimits;
}

/** The routes whose raw body is captured, with their limits. */
const rawRoutes = new Set<RawRoute>();

/**
 * At the deadline a body still arriving is dropped (the route, when it waits for it, answers 408
 * and closes), and once an answer is out the connection is ended: nobody will read the rest.
 */
function enforceDeadline(req: RawBodyRequest, res: ServerResponse, read: Core.RawBodyRead, deadlineMs: number): void {
  const timer = setTimeout(() => {
    if (req.complete) return;
    read.drop(new (core().BodyLateError)());
    // the route's answer to the drop comes in this turn's microtasks; whatever answered, the connection ends after it
    setImmediate(() => {
      if (!res.headersSent || res.writableFinished) req.socket.destroy();
      else res.once('finish', () => req.socket.destroy());
    });
  }, deadlineMs);
  // One listener per request, thousands a second: answered with the whole body read, the deadline is
  // over; answered before (httpNodeAuth's 401), the bytes still arriving are of no use to anyone.
  res.once('finish', () => {
    if (req.complete) clearTimeout(timer);
    else read.drop(new (core().SentenceError)('answer.unreadable'));
  });
}

function captureRawBody(req: RawBodyRequest, res: ServerResponse, next: () => void): void {
  // every request to this Node-RED passes here: only a POST to one of our routes is touched
  if (req.method !== 'POST' || rawRoutes.size === 0 || req._body) return next();
  const path = pathnameOf(req.url ?? '/');
  let route: RawRoute | undefined;
  for (const candidate of rawRoutes) {
    if (!candidate.matches(path)) continue;
    route = candidate;
    break;
  }
  if (!route) return next();
  req._body = true; // body parsers after this one leave the request alone
  req.capturedAt = Date.now();
  const read = core().startRawBody(req, route.limits.maxBodyBytes);
  req.rawBody = read.body;
  req.rawBody.catch(() => undefined); // the route reports a failure; when something else answers first, nobody need
  enforceDeadline(req, res, read, route.limits.deadlineMs);
  next();
}

function installCapture(RED: NodeAPI): void {
  const root = rootOf(RED.httpNode as ExpressApp);
  if (root === RED.httpNode) return; // not mounted under another app: nothing parses before our route
  const stack = stackOf(root);
  if (stack.some((layer) => layer.handle === captureRawBody)) return;
  (root as { use(handler: unknown): void }).use(captureRawBody);
  const index = stack.findIndex((layer) => layer.handle === captureRawBody);
  stack.unshift(stack.splice(index, 1)[0]!);
}

/**
 * The body of a request to our route: as the capture read it, else read now. When a middleware
 * in front of the route has already read it, it is refused at once: waiting for it would wait forever.
 */
export function routeBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const raw = req as RawBodyRequest;
  if (raw.rawBody) return raw.rawBody;
  const { readRawBody, BodyAlreadyReadError } = core();
  if (raw._body || raw.readableEnded) return Promise.reject(new BodyAlreadyReadError());
  return readRawBody(req, limit);
}

/** How long the delivery has left of `deadlineMs`, counted from its first byte when the capture saw it. */
export function timeLeft(req: IncomingMessage, deadlineMs: number): number {
  const capturedAt = (req as RawBodyRequest).capturedAt;
  return capturedAt === undefined ? deadlineMs : Math.max(0, capturedAt + deadlineMs - Date.now());
}

/** Where Node-RED serves httpNode routes (`httpNodeRoot`, `/` unless set). */
export function httpNodeRoot(RED: NodeAPI): string {
  return typeof RED.settings.httpNodeRoot === 'string' ? RED.settings.httpNodeRoot : '/';
}

/** Does a POST route already answer requests to `path`, as Express matches them? */
export function postRouteTaken(RED: NodeAPI, path: string): boolean {
  const app = RED.httpNode as ExpressApp;
  return stackOf(app).some(({ route }) => {
    if (!route || !(route.methods.post || route.methods._all)) return false;
    return typeof route.path === 'string' && routePattern(app, route.path).test(path);
  });
}

/** Registers the route, its body kept as bytes within its limits, and returns what removes it again. */
export function claimPostRoute(RED: NodeAPI, path: string, limits: RouteLimits, handler: RequestHandler): () => void {
  const app = RED.httpNode as ExpressApp;
  const raw: RawRoute = { app, matches: matcherFor(app, path), limits };
  rawRoutes.add(raw);
  installCapture(RED);
  const configured = RED.settings.httpNodeMiddleware as unknown;
  const middleware: RequestHandler[] =
    typeof configured === 'function' ? [configured as RequestHandler] : Array.isArray(configured) ? (configured as RequestHandler[]) : [];
  RED.httpNode.post(path, ...middleware, handler);
  const route = stackOf(app).at(-1)?.route;
  return () => {
    rawRoutes.delete(raw);
    const stack = stackOf(app);
    const index = stack.findIndex((layer) => layer.route === route);
    if (index >= 0) stack.splice(index, 1);
  };
}
