// The message catalogs (nodes/locales/<lang>/<node>.json) as the unit tests read them, without
// Node-RED: an entry by its dotted key, and the editor's `_` for one catalog.
import fs from 'fs';
import path from 'path';

/** The build copies nodes/locales next to the compiled nodes: dist/nodes/locales. */
const LOCALES = path.join(__dirname, '..', '..', 'nodes', 'locales');

/** One catalog file, parsed: nested objects of texts. */
export function readCatalog(lang: string, file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(LOCALES, lang, `${file}.json`), 'utf8')) as Record<string, unknown>;
}

/** What a dotted key (`common.status.failed`) names in nested objects, or undefined. */
export function entryAt(tree: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], tree);
}

/** The editor's `_` for a node: its own catalog in one language, placeholders filled; a missing text throws. */
export function editorTranslator(lang: string, file: string): (key: string, vars?: Record<string, string>) => string {
  const catalog = readCatalog(lang, file);
  return (key, vars = {}) => {
    const text = entryAt(catalog, key);
    if (typeof text !== 'string') throw new Error(`no message ${key} in ${lang}/${file}.json`);
    return text.replace(/__(\w+)__/g, (_, name: string) => vars[name] ?? '');
  };
}
