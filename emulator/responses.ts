// Responses as the API sends them, with Replicate's exact error bodies (RFC 7807 problem details).
import type { ServerResponse } from 'node:http';

export interface ApiResponse {
  status: number;
  /** Already serialized: list pages splice in cached model JSON. */
  body: string;
  /** A binary body, sent instead of `body` (a file download). */
  bytes?: Buffer;
  contentType: string;
  headers?: Record<string, string>;
  /** A streamed answer (server-sent events): writes its own head and body instead of `body`. */
  stream?: (res: ServerResponse) => Promise<void>;
}

export interface InvalidField {
  type: string;
  field: string;
  description: string;
}

export function json(status: number, value: unknown): ApiResponse {
  return { status, body: JSON.stringify(value), contentType: 'application/json' };
}

export function problem(status: number, title: string | undefined, detail: string, extra?: Record<string, unknown>): ApiResponse {
  const body = title === undefined ? { detail, status, ...extra } : { title, detail, status, ...extra };
  return { status, body: JSON.stringify(body), contentType: 'application/problem+json' };
}

export const unauthenticated = (): ApiResponse => problem(401, 'Unauthenticated', 'You did not pass a valid authentication token');

export const notFound = (): ApiResponse => problem(404, 'Not found', 'The requested resource could not be found.');

export const invalidVersion = (): ApiResponse =>
  problem(
    422,
    'Invalid version or not permitted',
    "The specified version does not exist (or perhaps you don't have permission to use it?)",
  );

export const insufficientCredit = (): ApiResponse =>
  problem(
    402,
    'Insufficient credit',
    'You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit. Once you purchase credit, please wait a few minutes before trying again.',
  );

export function validationFailed(fields: InvalidField[]): ApiResponse {
  const detail = fields.map((f) => `- ${f.field}: ${f.description}\n`).join('');
  return problem(422, 'Input validation failed', detail, { invalid_fields: fields });
}

export const badRequest = (title: string, detail: string): ApiResponse => problem(400, title, detail);
