// A stand-in for a server that is not Replicate: the receiver of the emulator's webhooks, or
// another host that an API token must never reach. It records every request whole (method, path,
// query, headers unmasked, body) and answers each with the status `answer` gives, 200 unless
// changed, and an empty list page, so a client that reads it finds nothing to follow.
import { RequestLog } from './request-log';
import { closableServer, readBody } from './server';
import type { RecordedRequest } from './types';

const EMPTY_PAGE = JSON.stringify({ results: [], next: null, previous: null });

export interface Recorder {
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  /** Every request so far, oldest first. */
  readonly requests: RecordedRequest[];
  clearRequests(): void;
  /** The status a request is answered with; 200 unless changed. */
  answer: (request: RecordedRequest) => number;
  /** Closes the server and every connection; its port then refuses connections. */
  close(): Promise<void>;
}

export async function startRecorder({
  port = 0,
  recordRequests = 10_000,
}: { port?: number; recordRequests?: number } = {}): Promise<Recorder> {
  const log = new RequestLog(recordRequests);
  const server = closableServer((req, res) => {
    const at = Date.now();
    void readBody(req).then(
      (body) => {
        const url = new URL(req.url ?? '/', 'http://recorder');
        const request = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: { ...req.headers },
          body: body ?? '',
          at,
        };
        log.record(request);
        const status = body === undefined ? 413 : recorder.answer(request);
        res.writeHead(status, { 'content-type': 'application/json' }).end(EMPTY_PAGE);
      },
      () => res.destroy(),
    ); // the client went away mid-body
  });
  const listening = await server.listen(port, '127.0.0.1');
  const recorder: Recorder = {
    origin: `http://127.0.0.1:${listening}`,
    port: listening,
    get requests() {
      return log.list();
    },
    clearRequests: () => log.clear(),
    answer: () => 200,
    close: () => server.close(),
  };
  return recorder;
}
