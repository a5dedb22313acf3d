// The original message's properties, kept while a prediction runs so the prediction completed
// node can restore them when Replicate reports it finished. They live in a Node-RED context store the user picks:
// a persistent or shared store keeps them across restarts and across several Node-RED instances
// behind one URL. Each entry carries its own expiry.
import { randomBytes } from 'crypto';

/** The part of Node-RED's global context this needs (callback style, any store). */
export interface ContextLike {
  get(key: string, store: string | undefined, callback: (err: Error | null | undefined, value?: unknown) => void): void;
  set(key: string, value: unknown, store: string | undefined, callback: (err?: Error | null) => void): void;
}

interface Entry {
  fields: Record<string, unknown>;
  expires: number;
}

const ROOT = 'replicateCorrelations';
const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);

/** A key that is safe in a context property path and in a URL: `c` and 24 hex digits. */
export function newCorrelationKey(): string {
  return `c${randomBytes(12).toString('hex')}`;
}

/** Only keys of the form newCorrelationKey makes are looked up: never `__proto__` and the like. */
export const CORRELATION_KEY = /^c[0-9a-f]{24}$/;

/** `topic`, `order.id`: the msg property paths to keep, without any that could reach a prototype. */
export function parseFieldList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((path) => path.replace(/^msg\./, ''))
    .filter((path) => /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(path) && !path.split('.').some((part) => UNSAFE.has(part)));
}

function getPath(source: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (value, part) =>
        value !== null && typeof value === 'object' && Object.hasOwn(value, part) ? (value as Record<string, unknown>)[part] : undefined,
      source,
    );
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

/** The named properties of msg, as JSON (a persistent store must be able to save them). */
export function pickFields(msg: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const path of paths) {
    const value = getPath(msg, path);
    if (value === undefined) continue;
    try {
      picked[path] = JSON.parse(JSON.stringify(value)) as unknown;
    } catch {
      // not JSON (a socket, a cycle): it cannot outlive this process, so it is not kept
    }
  }
  return picked;
}

export function restoreFields(msg: Record<string, unknown>, fields: Record<string, unknown>): void {
  for (const [path, value] of Object.entries(fields)) {
    if (parseFieldList(path).length === 1) setPath(msg, path, value);
  }
}

export class CorrelationStore {
  constructor(
    private readonly context: ContextLike,
    private readonly store: string | undefined,
    private readonly ttlMs: number,
  ) {}

  private get(key: string): Promise<unknown> {
    return new Promise((resolve, reject) => this.context.get(key, this.store, (err, value) => (err ? reject(err) : resolve(value))));
  }

  private set(key: string, value: unknown): Promise<void> {
    return new Promise((resolve, reject) => this.context.set(key, value, this.store, (err) => (err ? reject(err) : resolve())));
  }

  remember(key: string, fields: Record<string, unknown>, now = Date.now()): Promise<void> {
    const entry: Entry = { fields, expires: now + this.ttlMs };
    return this.set(`${ROOT}.${key}`, entry);
  }

  /** The fields kept under key, once: the entry is removed as it is read. */
  async recall(key: string, now = Date.now()): Promise<Record<string, unknown> | undefined> {
    const entry = (await this.get(`${ROOT}.${key}`)) as Entry | undefined;
    if (!entry || typeof entry !== 'object') return undefined;
    await this.set(`${ROOT}.${key}`, undefined);
    return entry.expires > now && entry.fields && typeof entry.fields === 'object' ? entry.fields : undefined;
  }

  forget(key: string): Promise<void> {
    return this.set(`${ROOT}.${key}`, undefined);
  }

  /** Removes entries whose prediction never reported back in time. */
  async sweep(now = Date.now()): Promise<number> {
    const all = (await this.get(ROOT)) as Record<string, Entry> | undefined;
    if (!all || typeof all !== 'object') return 0;
    const expired = Object.keys(all).filter((key) => !(all[key]!.expires > now));
    for (const key of expired) await this.set(`${ROOT}.${key}`, undefined);
    return expired.length;
  }
}
