// The create dialog's model picker (replicateModelPicker in resources/editor.js) over the real
// editor endpoints and the emulator: the function runs with a stand-in jQuery, the requests it
// makes go through Node-RED's admin API as the dialog's would.
import should from 'should';
import { DEFAULT_TOKEN, startEmulator, type Emulator } from '../emulator';
import { loadCatalog } from '../emulator/catalog';
import { ask as post, type ModelsAnswer } from './support/editor-endpoints';
import { editorResources, fakeJQuery, type FakeQuery } from './support/fake-jquery';
import { editorTranslator } from './support/catalogs';
import { configNode, helper, nodeModules } from './support/node-red';

type Answer = Record<string, unknown>;

describe('the model picker', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator();
    await helper.startServer();
  });
  beforeEach(async () => {
    await helper.load(nodeModules(['replicate-config']), [configNode('cfg', emulator.url)], { cfg: { token: DEFAULT_TOKEN } });
  });
  afterEach(async () => {
    await helper.unload();
    emulator.clearRequests();
  });
  after(async () => {
    await helper.stopServer();
    await emulator.close();
  });

  describe('the models endpoint', () => {
    it('pages through a search 25 at a time with the cursor it answers, to the last result', async () => {
      const catalog = await loadCatalog();
      const expected = catalog.search('llama').map((m) => `${m.owner}/${m.name}`);
      should(expected.length).be.above(100);
      const config = { id: 'cfg', baseUrl: emulator.url, token: '__PWRD__' };
      const seen: string[] = [];
      let cursor: string | null | undefined;
      do {
        const { body } = await post<ModelsAnswer>('models', { config, query: 'llama', cursor });
        should(body.ok).be.true();
        should(body.models.length).be.within(1, 25);
        seen.push(...body.models.map((m) => m.ref));
        cursor = body.next;
      } while (cursor);
      // the same models in the same order (most run first), none twice
      should(seen).eql(expected);
    });
  });

  /** The picker as the create dialog builds it, answering through the editor endpoints. */
  function picker(account = { id: 'cfg', token: '__PWRD__' }, type = 'replicate-create-prediction', extra: Record<string, unknown> = {}) {
    const pending: Array<Promise<void>> = [];
    const requests: Array<[string, Answer]> = [];
    const chosen: Array<['model' | 'deployment', string]> = [];
    const t = editorTranslator('en-US', type);
    const root = fakeJQuery('<div id="replicate-picker">').hide();
    const open = fakeJQuery('<button>');
    const accountSelect = fakeJQuery('<select>');
    const { replicateModelPicker } = editorResources() as { replicateModelPicker: (options: object) => void };
    replicateModelPicker({
      root,
      open,
      account: accountSelect,
      t: (key: string, vars?: Record<string, string>) => t(`${type}.${key}`, vars),
      ask: (route: string, body: Answer, done: (answer: Answer) => void) => {
        requests.push([route, body]);
        const config = { ...account, baseUrl: emulator.url };
        pending.push(post(route, { ...body, config }).then((res) => done(res.body as unknown as Answer)));
      },
      onModel: (ref: string) => chosen.push(['model', ref]),
      onDeployment: (ref: string) => chosen.push(['deployment', ref]),
      ...extra,
    });
    const part = (selector: string): FakeQuery => root.find(selector);
    return {
      root,
      open,
      account,
      accountSelect,
      requests,
      chosen,
      part,
      /** Waits for every answer the picker asked for, including those asked while handling one. */
      async settled() {
        while (pending.length) await pending.shift();
      },
      refs: () =>
        part('.replicate-picker-item')
          .find('.replicate-picker-ref')
          .elements.map((e) => e.textContent),
      row: (ref: string) => {
        const row = part('.replicate-picker-item').elements.find((e) => e.descendants().some((d) => d.textContent === ref));
        if (!row) throw new Error(`no row for ${ref}`);
        return fakeJQuery(row);
      },
      async search(query: string) {
        part('#replicate-picker-query').val(query);
        part('#replicate-picker-query').trigger('keydown', { key: 'Enter' });
        await this.settled();
      },
    };
  }

  it('opens on its button and shows 25 results with a legend, then more on scroll to the end and on its button', async () => {
    const p = picker();
    should(p.root.is(':visible')).be.false();
    p.open.trigger('click');
    should(p.root.is(':visible')).be.true();
    await p.search('llama');
    const expected = (await loadCatalog()).search('llama').map((m) => `${m.owner}/${m.name}`);
    should(expected.length).be.within(101, 125);
    should(p.refs()).eql(expected.slice(0, 25));
    should(p.part('.replicate-picker-legend').text()).equal(
      '\u2713 official model: runs by name, no version needed  \u25B6 times run on Replicate',
    );
    should(p.part('#replicate-picker-more').is(':visible')).be.true();

    // scrolled, but not near the end: nothing more is asked
    const list = p.part('#replicate-picker-results');
    Object.assign(list[0]!, { scrollTop: 100, clientHeight: 360, scrollHeight: 1400 });
    list.trigger('scroll');
    should(p.requests).have.length(1);
    Object.assign(list[0]!, { scrollTop: 1020 });
    list.trigger('scroll');
    list.trigger('scroll'); // a second scroll while the page is on its way asks nothing more
    await p.settled();
    should(p.refs()).eql(expected.slice(0, 50));
    should(p.requests.map(([, body]) => body.cursor)).match([undefined, /./]);

    p.part('#replicate-picker-more').trigger('click');
    await p.settled();
    should(p.refs()).eql(expected.slice(0, 75));
    for (let page = 4; page <= 5; page++) {
      should(p.part('#replicate-picker-more').is(':visible')).be.true();
      p.part('#replicate-picker-more').trigger('click');
      await p.settled();
    }
    // the last page: every result once, and no button for more
    should(p.refs()).eql(expected);
    should(p.part('#replicate-picker-more').is(':visible')).be.false();
    should(p.requests).have.length(5);
  });

  it('offers the training dialog only models whose latest version can be trained, and no deployments', async () => {
    const p = picker(undefined, 'replicate-create-training', { trainable: true });
    await p.search('lora trainer');
    const catalog = await loadCatalog();
    const trainable = (ref: string) => {
      const [owner = '', name = ''] = ref.split('/');
      const schemas = (catalog.model(owner, name)?.latest_version?.openapi_schema as { components?: { schemas?: object } } | undefined)
        ?.components?.schemas;
      return !!schemas && 'TrainingInput' in schemas;
    };
    const expected = catalog
      .search('lora trainer')
      .slice(0, 25)
      .map((m) => `${m.owner}/${m.name}`);
    should(expected.some((ref) => !trainable(ref))).be.true(); // the search finds models that cannot be trained, too
    should(p.refs()).eql(expected.filter(trainable));
    should(p.refs()).containEql('ostris/flux-dev-lora-trainer');
    should(p.part('#replicate-picker-deployments').prop('disabled')).be.true();
    should(p.part('.replicate-picker-legend').text()).containEql('Only models whose latest version can be trained are shown');
  });

  it('marks official models and shows how often each ran', async () => {
    const p = picker();
    await p.search('flux schnell');
    const flux = p.row('black-forest-labs/flux-schnell');
    should(flux.find('.replicate-picker-official').text()).equal('\u2713');
    const runs = (await loadCatalog()).model('black-forest-labs', 'flux-schnell')!.run_count!;
    should(runs).be.above(1e8);
    should(flux.find('.replicate-picker-runs').text()).equal(`\u25B6 ${Math.round(runs / 1e6)}M`);
    should(flux.find('.replicate-picker-runs').attr('title')).equal(`run ${runs} times`);
  });

  it('hands the chosen model back, lists its versions and links to its page, README and examples', async () => {
    const p = picker();
    await p.search('real-esrgan');
    const model = (await loadCatalog()).model('nightmareai', 'real-esrgan')!;
    p.row('nightmareai/real-esrgan').trigger('click');
    // not official: it runs at its latest version, written out
    should(p.chosen).eql([['model', `nightmareai/real-esrgan:${model.latest_version!.id}`]]);
    should(p.row('nightmareai/real-esrgan').hasClass('selected')).be.true();
    const links = p.part('#replicate-picker-links');
    should(links.is(':visible')).be.true();
    should(links.find('a').elements.map((a) => [a.textContent, a.attrs.href, a.attrs.target, a.attrs.rel])).eql([
      ['Model page', 'https://replicate.com/nightmareai/real-esrgan', '_blank', 'noopener noreferrer'],
      ['README', 'https://replicate.com/nightmareai/real-esrgan/readme', '_blank', 'noopener noreferrer'],
      ['Examples', 'https://replicate.com/nightmareai/real-esrgan/examples', '_blank', 'noopener noreferrer'],
    ]);
    // links only: nothing was asked of replicate.com or of the emulator for them
    should(p.requests.map(([route]) => route)).eql(['models', 'versions']);

    await p.settled();
    const versions = p.part('#replicate-picker-version');
    const options = versions.find('option').elements;
    should(options[0]!.textContent).equal('latest');
    should(options[1]!.props.value).equal(model.latest_version!.id);
    versions.val(model.latest_version!.id);
    versions.trigger('change');
    should(p.chosen.at(-1)).eql(['model', `nightmareai/real-esrgan:${model.latest_version!.id}`]);
    versions.val('');
    versions.trigger('change');
    should(p.chosen.at(-1)).eql(['model', `nightmareai/real-esrgan:${model.latest_version!.id}`]);
  });

  it('lists the deployments of the account instead when asked', async () => {
    const p = picker();
    p.part('#replicate-picker-deployments').prop('checked', true);
    p.part('#replicate-picker-deployments').trigger('change');
    await p.settled();
    should(p.refs()).eql(['emulator/flux-schnell-prod']);
    p.row('emulator/flux-schnell-prod').trigger('click');
    should(p.chosen).eql([['deployment', 'emulator/flux-schnell-prod']]);
    should(p.part('#replicate-picker-links').is(':visible')).be.false();
  });

  it('shows why a search failed, and clears it once the account is fixed', async () => {
    const p = picker({ id: 'not-deployed', token: 'r8_a_token_replicate_rejects' });
    await p.search('upscale');
    const error = p.part('.replicate-error');
    should(error.text()).match(/^Replicate rejected the token \(401\)/);
    should(p.refs()).eql([]);

    // the user fixes the token in the account's dialog: the editor redraws the account select
    p.account.token = DEFAULT_TOKEN;
    p.accountSelect.trigger('change');
    await p.settled();
    should(p.part('.replicate-error').length).equal(0);
    should(p.refs()).have.length(25);

    // once it works, a change of account does not search again on its own
    const asked = p.requests.length;
    p.accountSelect.trigger('change');
    should(p.requests).have.length(asked);
  });
});
