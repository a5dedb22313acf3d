// What a user of any language sees: every node has its message catalog and sidebar help, every
// translation has exactly the English keys and placeholders, help keeps its code and links, and
// every status text fits under a node (20 characters) even with the longest realistic values.
import fs from 'fs';
import path from 'path';
import should from 'should';

/** The build copies nodes/locales next to the compiled nodes: dist/nodes/locales. */
const LOCALES = path.join(__dirname, '..', '..', 'nodes', 'locales');
const PACKAGE_JSON = path.join(__dirname, '..', '..', '..', 'package.json');
const ENGLISH = 'en-US';
const STATUS_MAX = 20;

/** The longest values a status placeholder realistically takes. */
const WORST_CASE: Record<string, string | number> = {
  status: 'processing', // Replicate's status word, substituted as Replicate sends it (the longest of its six)
  polls: 999,
  max: 999,
  total: 99999,
  seconds: 999,
  pages: 999,
  id: 'abcdefgh', // the start of a prediction id (8 characters)
  percent: 100,
  field: 'prompt_template', // an input a plain string msg.payload goes into
  elapsed: '59m 59s', // a prediction polled for up to an hour (then 1h 05m)
  time: 99999, // metrics.predict_time in seconds, over 1000 without decimals
};

const PLACEHOLDER = /__([A-Za-z0-9]+(?:_[A-Za-z0-9]+)*)__/g;

type Catalog = { [key: string]: unknown };

function nodeTypes(): string[] {
  const pkg = JSON.parse(fs.readFileSync(PACKAGE_JSON, 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
  return Object.keys(pkg['node-red'].nodes);
}

function languages(): string[] {
  return fs
    .readdirSync(LOCALES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

function readCatalog(lang: string, node: string): Catalog {
  return JSON.parse(fs.readFileSync(path.join(LOCALES, lang, `${node}.json`), 'utf8')) as Catalog;
}

function readHelp(lang: string, node: string): string {
  return fs.readFileSync(path.join(LOCALES, lang, `${node}.html`), 'utf8');
}

/** Every leaf of a catalog by its dotted key path. Non-string leaves are kept so they can be reported. */
function leaves(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value as Catalog)) leaves(child, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.set(prefix, value);
  }
  return out;
}

function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string).sort();
}

/** Fills placeholders the way Node-RED's i18next does (__name__); unknown ones are reported, not guessed. */
function render(text: string, unknown: string[]): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    const value = WORST_CASE[name];
    if (value === undefined) {
      unknown.push(name);
      return whole;
    }
    return String(value);
  });
}

/** The tags of a help file in order, with their class attribute: the structure a translation keeps. */
function tagSequence(html: string): string[] {
  return [...html.matchAll(/<(\/?)([a-zA-Z0-9]+)([^>]*)>/g)].map((m) => {
    const cls = /\bclass="([^"]*)"/.exec(m[3] ?? '');
    return `${m[1]}${(m[2] ?? '').toLowerCase()}${cls ? `.${cls[1]}` : ''}`;
  });
}

function codes(html: string): string[] {
  return [...html.matchAll(/<code>([\s\S]*?)<\/code>/g)].map((m) => m[1] as string).sort();
}

function links(html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1] as string);
}

describe('message catalogs and help in every language', () => {
  const nodes = nodeTypes();
  const langs = languages();
  const translations = langs.filter((lang) => lang !== ENGLISH);

  it('ships English and at least one more language, for all six nodes', () => {
    should(langs).containEql(ENGLISH);
    should(translations.length).be.aboveOrEqual(1);
    should(nodes).containDeep([
      'replicate-config',
      'replicate-create-prediction',
      'replicate-get-prediction',
      'replicate-cancel-prediction',
      'replicate-list-models',
      'replicate-prediction-completed',
    ]);
  });

  it('has a message catalog namespaced by node type and a help file for each node in each language', () => {
    const problems: string[] = [];
    for (const lang of langs) {
      for (const node of nodes) {
        for (const ext of ['json', 'html']) {
          if (!fs.existsSync(path.join(LOCALES, lang, `${node}.${ext}`))) problems.push(`${lang}/${node}.${ext} is missing`);
        }
        if (!fs.existsSync(path.join(LOCALES, lang, `${node}.json`))) continue;
        let catalog: Catalog;
        try {
          catalog = readCatalog(lang, node);
        } catch (err) {
          problems.push(`${lang}/${node}.json is not valid JSON: ${(err as Error).message}`);
          continue;
        }
        if (typeof catalog[node] !== 'object' || catalog[node] === null) problems.push(`${lang}/${node}.json has no "${node}" section`);
      }
    }
    should(problems).eql([]);
  });

  it('has a help entry named after its node type in every help file', () => {
    const problems: string[] = [];
    for (const lang of langs) {
      for (const node of nodes) {
        const file = path.join(LOCALES, lang, `${node}.html`);
        if (!fs.existsSync(file)) continue; // reported above
        const help = readHelp(lang, node);
        const names = [...help.matchAll(/<script\s+type="text\/html"\s+data-help-name="([^"]*)"\s*>/g)].map((m) => m[1]);
        if (!names.includes(node)) problems.push(`${lang}/${node}.html has no <script type="text/html" data-help-name="${node}">`);
        if (!/<\/script>\s*$/.test(help)) problems.push(`${lang}/${node}.html does not end with </script>`);
      }
    }
    should(problems).eql([]);
  });

  for (const lang of translations) {
    describe(lang, () => {
      it('has exactly the English keys, with the same nesting', () => {
        const problems: string[] = [];
        for (const node of nodes) {
          const english = leaves(readCatalog(ENGLISH, node));
          const translated = leaves(readCatalog(lang, node));
          for (const key of english.keys()) if (!translated.has(key)) problems.push(`${node}.json: missing ${key}`);
          for (const key of translated.keys()) if (!english.has(key)) problems.push(`${node}.json: extra ${key}`);
          for (const [key, value] of translated) {
            if (typeof value !== 'string' || value.trim() === '') problems.push(`${node}.json: ${key} is not a non-empty string`);
          }
        }
        should(problems).eql([]);
      });

      it('keeps every placeholder of the English text, and adds none', () => {
        const problems: string[] = [];
        for (const node of nodes) {
          const english = leaves(readCatalog(ENGLISH, node));
          for (const [key, value] of leaves(readCatalog(lang, node))) {
            const original = english.get(key);
            if (typeof original !== 'string' || typeof value !== 'string') continue; // reported by the key check
            const want = placeholders(original);
            const got = placeholders(value);
            if (want.join(',') !== got.join(','))
              problems.push(`${node}.json ${key}: has [${got.join(', ')}], English has [${want.join(', ')}]`);
          }
        }
        should(problems).eql([]);
      });

      it('keeps the help structure, code and links of the English help', () => {
        const problems: string[] = [];
        for (const node of nodes) {
          const english = readHelp(ENGLISH, node);
          const translated = readHelp(lang, node);
          const wantTags = tagSequence(english);
          const gotTags = tagSequence(translated);
          const at = wantTags.findIndex((tag, i) => gotTags[i] !== tag);
          if (at >= 0 || wantTags.length !== gotTags.length) {
            const i = at >= 0 ? at : Math.min(wantTags.length, gotTags.length);
            problems.push(`${node}.html: tag ${i + 1} is <${gotTags[i] ?? 'end'}>, English has <${wantTags[i] ?? 'end'}>`);
          }
          const wantCode = codes(english);
          const gotCode = codes(translated);
          for (const code of wantCode.filter((c) => !gotCode.includes(c))) problems.push(`${node}.html: <code>${code}</code> is missing`);
          for (const code of gotCode.filter((c) => !wantCode.includes(c)))
            problems.push(`${node}.html: <code>${code}</code> is not in English`);
          if (links(english).join(' ') !== links(translated).join(' ')) problems.push(`${node}.html: links differ from English`);
        }
        should(problems).eql([]);
      });
    });
  }

  it(`keeps every status text at ${STATUS_MAX} characters or fewer with the longest realistic values, in every language`, () => {
    const problems: string[] = [];
    for (const lang of langs) {
      const status = (readCatalog(lang, 'replicate-config').common as Catalog | undefined)?.status as Catalog | undefined;
      if (!status || Object.keys(status).length === 0) {
        problems.push(`${lang}: replicate-config.json has no common.status`);
        continue;
      }
      for (const [key, text] of Object.entries(status)) {
        if (typeof text !== 'string') {
          problems.push(`${lang} ${key}: not a string`);
          continue;
        }
        const unknown: string[] = [];
        const shown = render(text, unknown);
        if (unknown.length) problems.push(`${lang} ${key}: no worst-case value for __${unknown.join('__, __')}__`);
        const length = [...shown].length;
        if (length > STATUS_MAX) problems.push(`${lang} ${key}: "${shown}" is ${length} characters`);
      }
    }
    should(problems).eql([]);
  });

  describe('runtime sentences (common.sentences)', () => {
    const sentences = (lang: string) => leaves((readCatalog(lang, 'replicate-config').common as Catalog).sentences, 'sentences');
    const english = sentences(ENGLISH);
    const groups = [...new Set([...english.keys()].map((key) => key.split('.')[1]))].join('|');
    /** The compiled node files as they ship: where the sentence keys are used. */
    const nodeFiles = fs.readdirSync(path.join(LOCALES, '..')).map((file) => path.join(LOCALES, '..', file));
    const coreFiles = fs
      .readdirSync(path.join(LOCALES, '..', 'core'), { recursive: true, encoding: 'utf8' })
      .map((file) => path.join(LOCALES, '..', 'core', file));
    const code = [...nodeFiles, ...coreFiles]
      .filter((file) => file.endsWith('.js'))
      .map((file) => fs.readFileSync(file, 'utf8'))
      .join('\n');
    const used = new Set([...code.matchAll(new RegExp(`(['"])((?:${groups})(?:\\.[A-Za-z]+)+)\\1`, 'g'))].map((m) => `sentences.${m[2]}`));
    // keys made at run time, such as `kind.${typeof value}`: any name fills the gap
    const made = [...code.matchAll(new RegExp(`\`((?:${groups})\\.[^\`]*\\$\\{[^\`]*)\``, 'g'))].map(
      (m) =>
        new RegExp(
          `^sentences\\.${m[1]!
            .split(/\$\{[^}]*\}/)
            .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('[A-Za-z]+')}$`,
        ),
    );

    it('has every sentence key the code uses, in every language', () => {
      should(used.size).be.above(100);
      const problems: string[] = [];
      for (const lang of langs) {
        const catalog = sentences(lang);
        for (const key of used) if (typeof catalog.get(key) !== 'string') problems.push(`${lang}: ${key} is used but not in the catalog`);
      }
      should(problems).eql([]);
    });

    it('has no sentence the code never says', () => {
      should(made.length).be.above(0);
      const unused = [...english.keys()].filter((key) => !used.has(key) && !made.some((re) => re.test(key)));
      should(unused).eql([]);
    });

    it('uses no placeholder name that i18next reads as an option (count, context...)', () => {
      const reserved = [
        'count',
        'context',
        'lng',
        'lngs',
        'ns',
        'defaultValue',
        'ordinal',
        'replace',
        'returnObjects',
        'joinArrays',
        'postProcess',
        'interpolation',
      ];
      const problems = langs.flatMap((lang) =>
        nodes.flatMap((node) =>
          [...leaves(readCatalog(lang, node))].flatMap(([key, text]) =>
            typeof text === 'string'
              ? placeholders(text)
                  .filter((name) => reserved.includes(name))
                  .map((name) => `${lang}/${node}.json ${key}: __${name}__`)
              : [],
          ),
        ),
      );
      should(problems).eql([]);
    });
  });

  it('renders the worst cases the status texts are measured with', () => {
    // Guards the measuring itself: a placeholder left in, or a value not substituted, would hide an overflow.
    const unknown: string[] = [];
    should(render('__status__ __polls__/__max__', unknown)).equal('processing 999/999');
    should(render('retry in __seconds__s', unknown)).equal('retry in 999s');
    should(render('__total__ models', unknown)).equal('99999 models');
    should(unknown).eql([]);
    render('__nope__', unknown);
    should(unknown).eql(['nope']);
  });
});
