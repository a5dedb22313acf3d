// Runtime sentences (errors, warnings, webhook answers) live in the message catalog, under
// common.sentences of replicate-config.json, in every language. The core says which sentence it
// means (a key and its values) and words it in English from the en-US catalog, so each English
// text is written once; a node renders the same sentence in the runtime's language with RED._.
import fs from 'fs';
import path from 'path';

type Sentences = (typeof import('../../locales/en-US/replicate-config.json'))['common']['sentences'];
type Leaves<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${Prefix}${K}` : Leaves<T[K], `${Prefix}${K}.`>;
}[keyof T & string];

/** A key under common.sentences, e.g. `response.notFound`: only keys the English catalog has compile. */
export type SentenceKey = Leaves<Sentences>;

/** A value put in a sentence: text as it is (a name, an id, Replicate's own words), a sentence, or a list of them ("; "). */
export type SentenceVar = string | number | Sentence | readonly SentenceVar[];
export type SentenceVars = Readonly<Record<string, SentenceVar>>;

export interface Sentence {
  readonly key: SentenceKey;
  readonly vars?: SentenceVars;
}

/** The text of a sentence in some language, its `__name__` placeholders kept; undefined when it has none. */
export type Templates = (key: SentenceKey, names: string[]) => string | undefined;

export function sentence(key: SentenceKey, vars?: SentenceVars): Sentence {
  return vars ? { key, vars } : { key };
}

export function isSentence(value: unknown): value is Sentence {
  return typeof value === 'object' && value !== null && typeof (value as { key?: unknown }).key === 'string';
}

/** Placeholders as Node-RED's i18n writes them. */
const PLACEHOLDER = /__([A-Za-z0-9]+)__/g;
const CATALOG = path.join(__dirname, '..', '..', 'locales', 'en-US', 'replicate-config.json');

let english: Record<string, unknown> | undefined;

function englishTemplate(key: string): string | undefined {
  english ??= (JSON.parse(fs.readFileSync(CATALOG, 'utf8')) as { common: { sentences: Record<string, unknown> } }).common.sentences;
  const found = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], english);
  return typeof found === 'string' ? found : undefined;
}

/**
 * The sentence in the language of `templates` (English without), its values filled in one pass,
 * so a value that looks like a placeholder stays as it is. Sentences inside it use the same language.
 */
export function renderSentence(said: Sentence, templates?: Templates): string {
  const vars = said.vars ?? {};
  const template = templates?.(said.key, Object.keys(vars)) ?? englishTemplate(said.key) ?? said.key;
  return template.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(vars, name) ? renderVar(vars[name]!, templates) : whole));
}

function renderVar(value: SentenceVar, templates: Templates | undefined): string {
  if (Array.isArray(value)) return value.map((item: SentenceVar) => renderVar(item, templates)).join('; ');
  if (isSentence(value)) return renderSentence(value, templates);
  return typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
}

/** An error as a value in another sentence: its sentence when it has one, else its message. */
export function errorVar(err: unknown): SentenceVar {
  if (isSentence(err)) return sentence(err.key, err.vars);
  return err instanceof Error ? err.message : String(err);
}

/** A sentence as a zod error message (zod messages are strings); describeIssues reads it back. */
export function says(key: SentenceKey, vars?: SentenceVars): string {
  return JSON.stringify(sentence(key, vars));
}

export function fromMessage(message: string): Sentence | undefined {
  if (!message.startsWith('{"key":')) return undefined;
  try {
    const parsed: unknown = JSON.parse(message);
    return isSentence(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
