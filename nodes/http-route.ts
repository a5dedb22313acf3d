// A POST route on RED.httpNode owned by one node, registered as core `http in` registers its
// routes: behind the user's httpNodeMiddleware, with httpNodeRoot and httpNodeAuth applied by
// Node-RED. A path another node already answers is refused rather than silently shadowed, and
// the route is spliced out when the node closes.
//
// The route gets the body as the bytes that were sent. When the admin API shares the root path
// with httpNode (the default), its JSON parser would consume the body first; so, as core
// `http in` does for "do not parse body", one middleware at the top of the root app captures
// the raw body of our routes before anything parses it.
import type { IncomingMessage } from 'http';
import type { NodeAPI } from 'node-red';
import type { RequestHandler } from 'express';
import type * as Core from './core';
import { core } from './lazy-core';


/** What the capture leaves on the request: the bytes, or why there are none. */
export interface RawBodyRequest extends IncomingMessage {
  rawBody?: Buffer;
  rawBodyError?: Error;
  _body?: boolean;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: unknown;
}

interface AppWithRouter {
  lazyrouter?: () => void; // express 4 (Node-RED 3, 4): the router is made on first use
  _router?: { stack: Layer[] };
  router?: { stack: Layer[] }; // express 5 (Node-RED 5); a throwing getter in express 4
}

function stackOf(app: unknown): Layer[] {
  const express = app as AppWithRouter;
  if (typeof express.lazyrouter === 'function') {
    express.lazyrouter();
    return express._router?.stack ?? [];
  }
  return express.router?.stack ?? [];
}

interface MountedApp {
  parent?: unknown;
}

function rootOf(app: unknown): unknown {
  const parent = (app as MountedApp).parent;
  return parent === undefined ? app : rootOf(parent);
}

/** Full request paths (httpNodeRoot included) whose raw body is captured, with their size limit. */
const rawRoutes = new Map<string, number>();
const normalize = (path: string) => path.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');

function captureRawBody(req: RawBodyRequest, _res: unknown, next: () => void): void {
  // every request to this Node-RED passes here: only a POST to one of our routes is touched
  if (req.method !== 'POST' || rawRoutes.size === 0 || req._body) return next();
  const limit = rawRoutes.get(normalize(new URL(req.url ?? '/', 'http://x').pathname));
  if (limit === undefined) return next();
  req._body = true; // body parsers after this one leave the request alone
  core()
    .readRawBody(req, limit)
    .then(
      (body) => (req.rawBody = body),
      (err: Error) => (req.rawBodyError = err),
    )
    .finally(next);
}

function installCapture(RED: NodeAPI): void {
  const root = rootOf(RED.httpNode);
  if (root === RED.httpNode) return; // not mounted under another app: nothing parses before our route
  const stack = stackOf(root);
  if (stack.some((layer) => layer.handle === captureRawBody)) return;
  (root as { use(handler: unknown): void }).use(captureRawBody);
  const index = stack.findIndex((layer) => layer.handle === captureRawBody);
  stack.unshift(stack.splice(index, 1)[0]!);
}

/** Where Node-RED serves httpNode routes (`httpNodeRoot`, `/` unless set). */
export function httpNodeRoot(RED: NodeAPI): string {
  return typeof RED.settings.httpNodeRoot === 'string' ? RED.settings.httpNodeRoot : '/';
}

export function postRouteTaken(RED: NodeAPI, path: string): boolean {
  return stackOf(RED.httpNode).some((layer) => layer.route?.path === path && layer.route.methods.post);
}

/** Registers the route, its body kept as bytes up to `maxBodyBytes`, and returns what removes it again. */
export function claimPostRoute(RED: NodeAPI, path: string, maxBodyBytes: number, handler: RequestHandler): () => void {
  const fullPath = normalize(`${httpNodeRoot(RED)}/${path}`);
  rawRoutes.set(fullPath, maxBodyBytes);
  installCapture(RED);
  const configured = RED.settings.httpNodeMiddleware as unknown;
  const middleware: RequestHandler[] =
    typeof configured === 'function' ? [configured as RequestHandler] : Array.isArray(configured) ? (configured as RequestHandler[]) : [];
  RED.httpNode.post(path, ...middleware, handler);
  const route = stackOf(RED.httpNode).at(-1)?.route;
  return () => {
    rawRoutes.delete(fullPath);
    const stack = stackOf(RED.httpNode);
    const index = stack.findIndex((layer) => layer.route === route);
    if (index >= 0) stack.splice(index, 1);
  };
}
