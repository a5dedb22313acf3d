// A POST route on RED.httpNode owned by one node, registered as core `http in` registers its
// routes: behind the user's httpNodeMiddleware, with httpNodeRoot and httpNodeAuth applied by
// Node-RED. A path another node already answers is refused rather than silently shadowed, and
// the route is spliced out when the node closes.
import type { NodeAPI } from 'node-red';
import type { RequestHandler } from 'express';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
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

export function postRouteTaken(RED: NodeAPI, path: string): boolean {
  return stackOf(RED.httpNode).some((layer) => layer.route?.path === path && layer.route.methods.post);
}

/** Registers the route and returns what removes it again. */
export function claimPostRoute(RED: NodeAPI, path: string, handler: RequestHandler): () => void {
  const configured = RED.settings.httpNodeMiddleware as unknown;
  const middleware: RequestHandler[] =
    typeof configured === 'function' ? [configured as RequestHandler] : Array.isArray(configured) ? (configured as RequestHandler[]) : [];
  RED.httpNode.post(path, ...middleware, handler);
  const route = stackOf(RED.httpNode).at(-1)?.route;
  return () => {
    const stack = stackOf(RED.httpNode);
    const index = stack.findIndex((layer) => layer.route === route);
    if (index >= 0) stack.splice(index, 1);
  };
}
