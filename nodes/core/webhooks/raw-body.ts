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

/** The body had not arrived when the delivery's deadline passed. */
export class BodyLateError extends SentenceError {
  constructor() {
    super('answer.bodyLate');
  }
}

/** A body being read, and what ends the read early. */
export interface RawBodyRead {
  body: Promise<Buffer>;
  /** Drops what was read and rejects `body` with `reason`; what still arrives is read and dropped. Nothing once settled. */
  drop(reason: Error): void;
}

/** Reads the body up to `limit` bytes; past it, or when dropped, it keeps draining without holding a byte. */
export function startRawBody(req: IncomingMessage, limit: number): RawBodyRead {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // drain, so the connection can answer and be reused
    return { body: Promise.reject(new BodyTooLargeError(limit)), drop: () => undefined };
  }
  let drop: (reason: Error) => void = () => undefined;
  const body = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      reject(err);
    };
    drop = fail;
    req.on('data', (chunk: Buffer) => {
      if (settled) return; // keeps draining
      size += chunk.length;
      if (size > limit) return fail(new BodyTooLargeError(limit));
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', fail);
    // a connection closed mid-body ends the wait, with or without an error event (no error built for every finished request)
    req.on('close', () => {
      if (!settled) fail(new SentenceError('answer.connectionClosed'));
    });
  });
  return { body, drop: (reason) => drop(reason) };
}

export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return startRawBody(req, limit).body;
}
