// One error type for everything that goes wrong talking to Replicate, worded for the debug
// sidebar: users of these nodes are mostly not programmers.
import { ProblemSchema, type Problem } from './schemas';
import { parseRetryAfter } from './retry-after';

export type ReplicateErrorCode =
  | 'unauthorized'
  | 'billing'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'invalid-input'
  | 'rate-limited'
  | 'server'
  | 'http'
  | 'timeout'
  | 'network'
  | 'bad-response'
  | 'aborted';

export interface ReplicateErrorFields {
  code: ReplicateErrorCode;
  status?: number;
  title?: string;
  detail?: string;
  /** The same request may succeed if sent again (429, 5xx, connection trouble). */
  retryable: boolean;
  /** How long Replicate asked us to wait before trying again. */
  retryAfterMs?: number;
  /** True only when the request provably never reached Replicate (connection refused, DNS failure). */
  notSent?: boolean;
}

/**
 * Node-RED puts `err.toString()` in msg.error.message and the debug sidebar: users should read
 * our sentence, not "ReplicateError: " in front of it.
 */
export class SentenceError extends Error {
  override toString(): string {
    return this.message;
  }
}

export class ReplicateError extends SentenceError implements ReplicateErrorFields {
  override name = 'ReplicateError';
  readonly code: ReplicateErrorCode;
  readonly status?: number;
  readonly title?: string;
  readonly detail?: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly notSent: boolean;

  constructor(message: string, fields: ReplicateErrorFields) {
    super(message);
    this.code = fields.code;
    this.status = fields.status;
    this.title = fields.title;
    this.detail = fields.detail;
    this.retryable = fields.retryable;
    this.retryAfterMs = fields.retryAfterMs;
    this.notSent = fields.notSent ?? false;
  }

  withMessage(message: string): ReplicateError {
    const copy = new ReplicateError(message, this);
    copy.stack = this.stack;
    return copy;
  }
}

/** Why a node cannot work whatever the message: each shows on the node's status in its own words. */
export type SetupProblem = 'no-config' | 'no-token' | 'bad-base-url' | 'bad-config';

/** A message or configuration value that cannot be sent; raised before any request is made. */
export class InputError extends SentenceError {
  override name = 'InputError';
  constructor(
    message: string,
    readonly code?: SetupProblem,
  ) {
    super(message);
  }
}

const MAX_DETAIL = 500;

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_DETAIL ? `${flat.slice(0, MAX_DETAIL - 3)}...` : flat;
}

function parseProblem(body: string): Problem {
  try {
    const parsed = ProblemSchema.safeParse(JSON.parse(body));
    if (parsed.success) return parsed.data;
  } catch {
    // not JSON: an HTML error page from a proxy, say; the status line has to do
  }
  return {};
}

function validationSummary(problem: Problem): string | undefined {
  const fields = (problem.invalid_fields ?? []).map((f) => f.description ?? f.field).filter(Boolean);
  if (fields.length > 0) return fields.join('; ');
  // Replicate's detail reads "- input: prompt is required\n- input: ..."
  const lines = (problem.detail ?? '')
    .split('\n')
    .map((line) => line.replace(/^\s*-\s*(input:\s*)?/, '').trim())
    .filter(Boolean);
  return lines.length > 0 ? lines.join('; ') : undefined;
}

/**
 * Turns a non-2xx answer into a sentence. `what` names the thing asked for, for 404s
 * ("the prediction \"abc\"", "the model \"owner/name\"").
 */
export function errorFromResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  what: string,
): ReplicateError {
  const problem = parseProblem(body);
  const title = problem.title;
  const detail = problem.detail !== undefined ? clip(problem.detail) : undefined;
  const explain = detail ?? title;
  const suffix = explain ? `: ${explain}` : '';
  const base = { status, title, detail };

  switch (true) {
    case status === 401:
      return new ReplicateError(
        `Replicate rejected the token (401)${suffix}. Check the API token in the Replicate config node.`,
        { ...base, code: 'unauthorized', retryable: false },
      );
    case status === 402:
      return new ReplicateError(`Billing is required on this Replicate account (402)${suffix}`, {
        ...base,
        code: 'billing',
        retryable: false,
      });
    case status === 403:
      return new ReplicateError(`Replicate refused access to ${what} (403)${suffix}`, {
        ...base,
        code: 'forbidden',
        retryable: false,
      });
    case status === 404:
      return new ReplicateError(`Replicate could not find ${what} (404)`, { ...base, code: 'not-found', retryable: false });
    case status === 409:
      return new ReplicateError(`Replicate reported a conflict for ${what} (409)${suffix}`, {
        ...base,
        code: 'conflict',
        retryable: false,
      });
    case status === 422 || status === 400: {
      const summary = validationSummary(problem) ?? title ?? 'Replicate did not accept the request';
      return new ReplicateError(`Input validation failed: ${clip(summary)}`, {
        ...base,
        code: 'invalid-input',
        retryable: false,
      });
    }
    case status === 429: {
      const retryAfterMs = parseRetryAfter(headers['retry-after'], problem, Date.now());
      return new ReplicateError(`Replicate is rate limiting this account (429)${suffix}`, {
        ...base,
        code: 'rate-limited',
        retryable: true,
        retryAfterMs,
      });
    }
    case status >= 500:
      return new ReplicateError(`Replicate had a server error (HTTP ${status})${suffix}`, {
        ...base,
        code: 'server',
        retryable: true,
      });
    default:
      return new ReplicateError(`Replicate answered HTTP ${status}${suffix}`, { ...base, code: 'http', retryable: false });
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const ABORT_CODES = new Set(['UND_ERR_ABORTED', 'UND_ERR_ABORT', 'UND_ERR_DESTROYED', 'UND_ERR_CLOSED', 'ABORT_ERR']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function abortedError(): ReplicateError {
  return new ReplicateError('The request to Replicate was stopped because the node was closed or redeployed', {
    code: 'aborted',
    retryable: false,
  });
}

/** Turns a transport failure (no HTTP answer) into a sentence. */
export function errorFromNetwork(err: unknown, host: string, timeoutMs: number): ReplicateError {
  const code = errorCode(err);
  if (code && ABORT_CODES.has(code)) return abortedError();
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new ReplicateError('Replicate sent a response larger than this node accepts', {
      code: 'bad-response',
      retryable: false,
    });
  }
  if (code && TIMEOUT_CODES.has(code)) {
    return new ReplicateError(`Replicate did not answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`, {
      code: 'timeout',
      retryable: true,
    });
  }
  if (code && NOT_SENT_CODES.has(code)) {
    const why =
      code === 'ECONNREFUSED'
        ? 'the connection was refused'
        : code === 'UND_ERR_CONNECT_TIMEOUT'
          ? 'connecting timed out'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'the host name could not be resolved'
            : 'the network is unreachable';
    return new ReplicateError(`Could not reach Replicate at ${host}: ${why} (${code})`, {
      code: 'network',
      retryable: true,
      notSent: true,
    });
  }
  if (code && /CERT|TLS|SSL/.test(code)) {
    return new ReplicateError(`Could not open a secure connection to ${host} (${code})`, {
      code: 'network',
      retryable: false,
      notSent: true,
    });
  }
  return new ReplicateError(`The connection to Replicate at ${host} was interrupted (${code ?? 'unknown error'})`, {
    code: 'network',
    retryable: true,
  });
}

/** Defence in depth: a secret the client holds never reaches an error built from text it received. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}
