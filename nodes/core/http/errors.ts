// One error type for everything that goes wrong talking to Replicate, worded for the debug
// sidebar: users of these nodes are mostly not programmers.
import { ProblemSchema, type Problem } from './schemas';
import { parseRetryAfter } from './retry-policy';
import { renderSentence, type Sentence, type SentenceKey, type SentenceVar, type SentenceVars } from './sentences';

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
  | 'aborted'
  /** Replicate removed the prediction's data or output file (about an hour after its end). */
  | 'data-removed';

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
 * An error that is one of the catalog's sentences: its message is the English text, and its key
 * and vars let a node say it in the runtime's language. Node-RED puts `err.toString()` in
 * msg.error.message and the debug sidebar: users should read our sentence, not "ReplicateError: " in front of it.
 */
export class SentenceError extends Error implements Sentence {
  readonly key: SentenceKey;
  readonly vars?: SentenceVars;

  constructor(key: SentenceKey, vars?: SentenceVars) {
    super(renderSentence({ key, vars }));
    this.key = key;
    if (vars) this.vars = vars;
  }

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

  constructor(key: SentenceKey, vars: SentenceVars | undefined, fields: ReplicateErrorFields) {
    super(key, vars);
    this.code = fields.code;
    this.status = fields.status;
    this.title = fields.title;
    this.detail = fields.detail;
    this.retryable = fields.retryable;
    this.retryAfterMs = fields.retryAfterMs;
    this.notSent = fields.notSent ?? false;
  }

  /** The same error said another way, e.g. framed by a sentence that explains what it means here. */
  withSentence(key: SentenceKey, vars?: SentenceVars): ReplicateError {
    const copy = new ReplicateError(key, vars, this);
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
    key: SentenceKey,
    vars?: SentenceVars,
    readonly code?: SetupProblem,
  ) {
    super(key, vars);
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
 * ("the prediction \"abc\"", "the model \"owner/name\""). Replicate's own words (its problem
 * detail) go into the sentence as Replicate sent them.
 */
export function errorFromResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  what: SentenceVar,
): ReplicateError {
  const problem = parseProblem(body);
  const title = problem.title;
  const detail = problem.detail !== undefined ? clip(problem.detail) : undefined;
  const explain = detail ?? title;
  const base = { status, title, detail };
  /** The sentence, with Replicate's explanation when it gave one. */
  const said = (
    key: 'unauthorized' | 'billing' | 'forbidden' | 'conflict' | 'rateLimited' | 'server' | 'http',
    fields: Omit<ReplicateErrorFields, 'status'>,
  ) =>
    explain
      ? new ReplicateError(`response.${key}Detail`, { what, status, detail: explain }, { ...base, ...fields })
      : new ReplicateError(`response.${key}`, { what, status }, { ...base, ...fields });

  switch (true) {
    case status === 401:
      return said('unauthorized', { code: 'unauthorized', retryable: false });
    case status === 402:
      return said('billing', { code: 'billing', retryable: false });
    case status === 403:
      return said('forbidden', { code: 'forbidden', retryable: false });
    case status === 404:
      return new ReplicateError('response.notFound', { what }, { ...base, code: 'not-found', retryable: false });
    case status === 409:
      return said('conflict', { code: 'conflict', retryable: false });
    case status === 422 || status === 400: {
      const summary = validationSummary(problem) ?? title;
      return new ReplicateError(
        'response.invalidInput',
        { detail: summary !== undefined ? clip(summary) : { key: 'response.notAccepted' } },
        { ...base, code: 'invalid-input', retryable: false },
      );
    }
    case status === 429: {
      const retryAfterMs = parseRetryAfter(headers['retry-after'], problem, Date.now());
      return said('rateLimited', { code: 'rate-limited', retryable: true, retryAfterMs });
    }
    case status >= 500:
      return said('server', { code: 'server', retryable: true });
    default:
      return said('http', { code: 'http', retryable: false });
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
  return new ReplicateError('network.aborted', undefined, { code: 'aborted', retryable: false });
}

/** Why a request that was never sent could not be: a sentence of its own for each cause. */
function notSentReason(code: string): SentenceKey {
  if (code === 'ECONNREFUSED') return 'network.refused';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'network.connectTimeout';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'network.unknownHost';
  return 'network.noRoute';
}

/** Turns a transport failure (no HTTP answer) into a sentence. */
export function errorFromNetwork(err: unknown, host: string, timeoutMs: number): ReplicateError {
  const code = errorCode(err);
  if (code && ABORT_CODES.has(code)) return abortedError();
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new ReplicateError('response.tooLarge', undefined, { code: 'bad-response', retryable: false });
  }
  if (code && TIMEOUT_CODES.has(code)) {
    const fields = { code: 'timeout', retryable: true } as const;
    if (timeoutMs < 1000) return new ReplicateError('network.timeoutMs', { ms: timeoutMs }, fields);
    return new ReplicateError('network.timeoutSeconds', { seconds: Math.round(timeoutMs / 1000) }, fields);
  }
  if (code && NOT_SENT_CODES.has(code)) {
    return new ReplicateError(
      'network.unreachable',
      { host, reason: { key: notSentReason(code) }, code },
      { code: 'network', retryable: true, notSent: true },
    );
  }
  if (code && /CERT|TLS|SSL/.test(code)) {
    return new ReplicateError('network.insecure', { host, code }, { code: 'network', retryable: false, notSent: true });
  }
  return new ReplicateError(
    'network.interrupted',
    { host, code: code ?? { key: 'network.unknownError' } },
    { code: 'network', retryable: true },
  );
}

/** Defence in depth: a secret the client holds never reaches an error built from text it received. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}
