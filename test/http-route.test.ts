// The raw-body capture picks out exactly the requests Express routes to our POST route, wherever
// httpNode is mounted: at the root, under httpNodeRoot, or inside an app that embeds Node-RED
// under a path of its own. Each layout has a JSON parser in front, as the admin API has: a request
// the capture missed would reach the route with its body gone, one it took wrongly would reach
// the parser without its body. Express itself (the one of the Node-RED under test) decides
// which requests reach the route.
import type { Express, Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import should from 'should';
import supertest from 'supertest';
import { claimPostRoute, routeBody } from '../nodes/http-route';
import { resolveNodeRed } from './support/node-red';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the express of the Node-RED under test, found at run time
const express = require(resolveNodeRed('express')) as { (): Express; json(): Express };
const ROUTE = '/replicate/completed';

/** A root app with a JSON parser, and httpNode mounted at the given paths, outermost first. */
function layout(mounts: string[]) {
  const root = express();
  root.use(express.json());
  const httpNode = express();
  let parent = root;
  mounts.forEach((mount, i) => {
    const app = i === mounts.length - 1 ? httpNode : express();
    parent.use(mount, app);
    parent = app;
  });
  root.use((req: Request, res: Response) => res.status(404).json({ parsed: req.body as unknown }));
  return { root, httpNode };
}

const variants = (prefix: string) =>
  [
    ...new Set([
      `${prefix}${ROUTE}`,
      `${prefix.toUpperCase()}/REPLICATE/Completed`,
      `${prefix}${ROUTE}/`,
      `${prefix}${ROUTE}?correlation=c1`,
      `${prefix}/${ROUTE}`,
      `${prefix.replace(/\/(?=[^/]*$)/, '//')}${ROUTE}`,
      `${prefix}/replicate//completed`,
      `${prefix}${ROUTE}//`,
      `${prefix}/replicate%2Fcompleted`,
      `${prefix}${ROUTE}x`,
      `${prefix}/replicate`,
      `${prefix}x${ROUTE}`,
      `/elsewhere${ROUTE}`,
    ]),
  ].filter((path) => path.startsWith('/'));

describe('the raw-body capture, as Express routes', () => {
  const layouts: Array<{ name: string; mounts: string[]; prefix: string }> = [
    { name: 'httpNode at the root', mounts: ['/'], prefix: '' },
    { name: 'httpNode under httpNodeRoot /hooks/', mounts: ['/hooks/'], prefix: '/hooks' },
    { name: 'Node-RED embedded under /outer, httpNode under /hooks/', mounts: ['/outer', '/hooks/'], prefix: '/outer/hooks' },
  ];

  for (const { name, mounts, prefix } of layouts) {
    it(`${name}: the route gets the exact bytes, every other request its parsed body`, async () => {
      const { root, httpNode } = layout(mounts);
      const RED = { httpNode, settings: {} } as unknown as NodeAPI;
      const release = claimPostRoute(RED, ROUTE, { maxBodyBytes: 1024, deadlineMs: 10_000 }, (req, res) => {
        routeBody(req, 1024).then(
          (bytes) => res.status(200).send(`got ${bytes.toString()}`),
          (err: Error) => res.status(400).send(err.message),
        );
      });
      try {
        const text = '{ "id":  "spaced" }';
        const reached: string[] = [];
        for (const path of variants(prefix)) {
          const res = await supertest(root).post(path).set('content-type', 'application/json').send(text).timeout(5000);
          if (res.status === 200) {
            should(res.text).equal(`got ${text}`, path);
            reached.push(path);
          } else {
            should(res.status).equal(404, `${path}: ${res.text}`);
            should(res.body).eql({ parsed: { id: 'spaced' } }, path);
          }
        }
        should(reached).containDeep(variants(prefix).slice(0, 4));
      } finally {
        release();
      }
    });
  }
});
