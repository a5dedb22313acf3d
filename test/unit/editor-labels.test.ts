// The palette and the workspace name each node in the editor's language: paletteLabel and the
// label a node shows when it has no name come from its own catalog, in every language, as the
// editor calls them (paletteLabel on the node definition, label on the node; both carry `_`).
import should from 'should';
import { registeredDefinition } from '../support/editor-script';
import { editorTranslator } from '../support/catalogs';

/** The build copies the editor files next to the compiled nodes: dist/nodes. */

interface Definition {
  paletteLabel: (this: unknown) => string;
  label: (this: unknown) => string;
}

function definitionOf(type: string): Definition {
  const anything = (): unknown => new Proxy(() => anything(), { get: () => anything() });
  return registeredDefinition<Definition>(type, { validators: anything(), settings: {} }, { $: anything() });
}

/** The catalog keys of what each node shows in the palette and, without a name, in the workspace. */
const SHOWN: Record<string, [palette: string, unnamed: string]> = {
  'replicate-config': ['paletteLabel', 'nodeLabel.default'],
  'replicate-create-prediction': ['paletteLabel', 'paletteLabel'],
  'replicate-get-prediction': ['paletteLabel', 'paletteLabel'],
  'replicate-cancel-prediction': ['paletteLabel', 'paletteLabel'],
  'replicate-list-models': ['paletteLabel', 'paletteLabel'],
  'replicate-prediction-completed': ['paletteLabel', 'nodeLabel.url'],
};

const TYPES = Object.keys(SHOWN);

describe('node names in the editor', () => {
  for (const lang of ['en-US', 'de']) {
    it(`come from each node's catalog in ${lang}`, () => {
      const t = (type: string, key: string, vars?: Record<string, string>) => editorTranslator(lang, type)(`${type}.${key}`, vars);
      const label = (type: string, node: Record<string, unknown> = {}) =>
        definitionOf(type).label.call({ _: editorTranslator(lang, type), ...node });
      for (const type of TYPES) {
        const def = definitionOf(type);
        const [palette, unnamed] = SHOWN[type]!;
        should(def.paletteLabel).be.a.Function();
        should(def.paletteLabel.call({ ...def, _: editorTranslator(lang, type) })).equal(t(type, palette));
        should(label(type)).equal(t(type, unnamed, { url: '' }));
        should(label(type, { name: 'mine' })).equal('mine');
      }
      should(label('replicate-create-prediction', { deployment: 'acme/prod' })).equal(
        t('replicate-create-prediction', 'nodeLabel.deployment', { deployment: 'acme/prod' }),
      );
      should(label('replicate-create-prediction', { model: 'acme/painter:abc' })).equal('acme/painter');
      should(label('replicate-get-prediction', { waitForCompletion: true })).equal(t('replicate-get-prediction', 'nodeLabel.wait'));
      should(label('replicate-list-models', { query: 'flux' })).equal(t('replicate-list-models', 'nodeLabel.search', { query: 'flux' }));
      should(label('replicate-prediction-completed', { url: '/done' })).equal(
        t('replicate-prediction-completed', 'nodeLabel.url', { url: '/done' }),
      );
    });
  }

  it('are German in German: no English name is left in the German catalogs', () => {
    const problems = TYPES.filter(
      (type) => editorTranslator('de', type)(`${type}.paletteLabel`) === editorTranslator('en-US', type)(`${type}.paletteLabel`),
    );
    should(problems).eql([]);
    should(editorTranslator('en-US', 'replicate-config')('replicate-config.paletteLabel')).equal('Replicate account');
  });
});
