// The request body as bytes: signatures are computed over exactly what was sent, so it must be
// read before any parser touches it, and no further than the size limit.
import type { IncomingMessage } from 'http';
import { SentenceError } from '../http';

export class BodyTooLargeError extends SentenceError {
  constructor(readonly limit: number) {
    super('answer.tooLarge', { limit });
  }
}

/** Another middleware (a body parser in httpNodeMiddleware, say) read the body before the route: the bytes sent are gone. */
export class BodyAlreadyReadError extends SentenceError {
  constructor() {
    super('answer.alreadyRead');
  }
}

export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // drain, so the connection can answer and be reused
    return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return; // keeps draining
      size += chunk.length;
      if (size > limit) return fail(new BodyTooLargeError(limit));
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', fail);
    // a connection closed mid-body ends the wait, with or without an error event
    req.on('close', () => fail(new SentenceError('answer.connectionClosed')));
  });
}
