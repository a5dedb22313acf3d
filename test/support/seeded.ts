// A seeded generator of hostile values for fuzzing: the same seed gives the same cases, so a
// failure reproduces with FUZZ_SEED=<seed shown in the test title>.

/** mulberry32: small, fast, and the same sequence on every platform. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FUZZ_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x5eed_2026;

export interface Case {
  /** Says what the value is, for failure messages. */
  label: string;
  value: unknown;
}

export const DEPTH = 10_000;

/** {"a": {"a": ... 10,000 levels}} built without recursion. */
export function deepObject(depth = DEPTH): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let node = root;
  for (let i = 0; i < depth; i++) {
    const child: Record<string, unknown> = {};
    node.a = child;
    node = child;
  }
  return root;
}

export function deepArray(depth = DEPTH): unknown[] {
  const root: unknown[] = [];
  let node = root;
  for (let i = 0; i < depth; i++) {
    const child: unknown[] = [];
    node.push(child);
    node = child;
  }
  return root;
}

/** The same deep nesting as JSON text, for bodies: a parser meets it without any object made first. */
export const deepJson = (depth = DEPTH, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;

export function circular(): Record<string, unknown> {
  const value: Record<string, unknown> = { name: 'loop' };
  value.self = value;
  return value;
}

/** Keys that reach a prototype when code copies or merges carelessly, as JSON.parse makes them (own properties). */
export const PROTO_OBJECTS: Case[] = [
  { label: '{"__proto__": {"polluted": true}}', value: JSON.parse('{"__proto__": {"polluted": true}}') },
  { label: '{"constructor": {"prototype": {"polluted": true}}}', value: JSON.parse('{"constructor": {"prototype": {"polluted": true}}}') },
  {
    label: '{"prompt": "a cat", "__proto__": {"polluted": true}}',
    value: JSON.parse('{"prompt": "a cat", "__proto__": {"polluted": true}}'),
  },
  { label: '{"prototype": {"polluted": true}}', value: JSON.parse('{"prototype": {"polluted": true}}') },
  { label: 'Object.create(null)', value: Object.assign(Object.create(null) as object, { prompt: 'no prototype' }) },
];

/** One of every kind of value a msg property can hold that is not what a node expects. */
export function wrongTypes(): Case[] {
  return [
    { label: 'number 42', value: 42 },
    { label: 'NaN', value: NaN },
    { label: '-Infinity', value: -Infinity },
    { label: 'true', value: true },
    { label: 'BigInt 10n', value: 10n },
    { label: 'Symbol', value: Symbol('fuzz') },
    { label: 'function', value: () => 'fuzz' },
    { label: 'array', value: ['a', 'b'] },
    { label: 'empty array', value: [] },
    { label: 'object', value: { id: 'abc' } },
    { label: 'Date', value: new Date(0) },
    { label: 'RegExp', value: /x/ },
    { label: 'Map', value: new Map([['a', 1]]) },
    { label: 'Buffer', value: Buffer.from('fuzz') },
    { label: 'String object', value: Object('a string') as unknown },
    { label: 'circular object', value: circular() },
    { label: `object nested ${DEPTH} deep`, value: deepObject() },
    { label: `array nested ${DEPTH} deep`, value: deepArray() },
    ...PROTO_OBJECTS,
  ];
}

/** Strings that are too long or hold what parsers and paths trip over. */
export function hostileStrings(): Case[] {
  return [
    { label: '1 MB string', value: 'x'.repeat(1024 * 1024) },
    { label: '10 MB string', value: 'y'.repeat(10 * 1024 * 1024) },
    { label: 'path traversal', value: '../../account' },
    { label: 'encoded traversal', value: '%2e%2e%2faccount' },
    { label: 'query injection', value: 'abc?x=1#frag' },
    { label: 'CRLF', value: 'abc\r\nX-Injected: 1' },
    { label: 'NUL byte', value: 'abc\u0000def' },
    { label: 'lone surrogate', value: 'abc\ud800' },
    { label: 'emoji', value: '🐈‍⬛🔥' },
    { label: 'whitespace only', value: ' \t\n ' },
    { label: '__proto__', value: '__proto__' },
    { label: 'constructor', value: 'constructor' },
    { label: 'owner/name lookalike', value: 'owner/name' },
    { label: 'JSON text', value: '{"__proto__": {"polluted": true}}' },
  ];
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:?#%&=+ \u00e9\u4e2d\u0000\ud83d\ude00"\\{}[]';

/** A random string of up to `max` characters from an alphabet of ordinary and awkward characters. */
export function randomString(random: () => number, max = 200): string {
  const length = Math.floor(random() * random() * max);
  let text = '';
  for (let i = 0; i < length; i++) text += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return text;
}

/** A random JSON-able value: objects, arrays, strings, numbers, with awkward keys now and then. */
export function randomJson(random: () => number, depth = 0): unknown {
  const pick = random();
  if (depth > 4 || pick < 0.3) {
    const leaf = random();
    if (leaf < 0.25) return randomString(random, 40);
    if (leaf < 0.5) return Math.floor((random() - 0.5) * 1e6) / (random() < 0.5 ? 1 : 7);
    if (leaf < 0.7) return random() < 0.5;
    return null;
  }
  if (pick < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth + 1));
  const keys = [
    'id',
    'status',
    'input',
    'output',
    'error',
    'logs',
    'model',
    'version',
    '__proto__',
    'constructor',
    'prototype',
    randomString(random, 12),
  ];
  const value: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 5); i > 0; i--) {
    const key = keys[Math.floor(random() * keys.length)]!;
    Object.defineProperty(value, key, { value: randomJson(random, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return value;
}

/** `count` random cases after the fixed ones, all from the seed. */
export function randomCases(random: () => number, count: number): Case[] {
  return Array.from({ length: count }, (_, i) => {
    const kind = random();
    if (kind < 0.5) {
      const text = randomString(random);
      return { label: `random string #${i} ${JSON.stringify(text.slice(0, 30))}`, value: text };
    }
    const value = randomJson(random);
    return { label: `random JSON #${i} ${JSON.stringify(value)?.slice(0, 40)}`, value };
  });
}

/** What Object.prototype and friends hold now: compared after a run to prove nothing was polluted. */
export function prototypeSnapshot(): string {
  const names = (o: object) => Object.getOwnPropertyNames(o).sort().join(',');
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype].map(names).join('|');
}

export function assertNotPolluted(before: string): void {
  const probe = {} as Record<string, unknown>;
  for (const key of ['polluted', 'isAdmin', 'injected']) {
    if (probe[key] !== undefined) throw new Error(`Object.prototype.${key} was polluted`);
  }
  if (typeof (probe.constructor as { polluted?: unknown }).polluted !== 'undefined') throw new Error('Object was polluted');
  if (prototypeSnapshot() !== before) throw new Error('a built-in prototype gained or lost a property');
}
