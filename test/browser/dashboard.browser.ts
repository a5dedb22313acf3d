// FlowFuse Dashboard 2.0 in a real browser (Debian's chromium, driven by playwright-core): example 09
// imported from the editor's Examples menu into a new flow and deployed, as the README tells a user,
// then its page: a question's answer grows on the page while the model writes it, and an image
// prompt's image loads. Node-RED runs as its own process with the dashboard installed (a dev
// dependency; the package does not depend on it), against the local emulator in this process.
// Screenshots go to test-artifacts/dashboard/ for a person to look at.
import fs from 'fs';
import path from 'path';
import should from 'should';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEFAULT_TOKEN, startEmulator, type Emulator } from '../../emulator';
import { sentCreate } from '../emulator-support/wire';
import { PACKAGE_ROOT, startNodeRedProcess, type NodeRedProcess } from '../support/node-red-host';

// its own folder: the editor test clears the PNGs it finds at the top of test-artifacts/
const ARTIFACTS = path.join(PACKAGE_ROOT, 'test-artifacts', ...(process.env.NODE_RED_PATH ? ['compat', 'browser'] : []), 'dashboard');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const EXAMPLE = '09 Dashboard with a streamed answer and an image';
/** The example's nodes refer to this config node, as under `npm start`. */
const CONFIG_ID = 'replicate-account';

/** What the test reads of the editor's RED in the page. */
interface EditorNode {
  type: string;
  name?: string;
  valid?: boolean;
}
interface EditorNodes {
  getType(type: string): unknown;
  eachNode(fn: (node: EditorNode) => void): void;
  eachConfig(fn: (node: EditorNode) => void): void;
}
type EditorWindow = Window & { RED?: { nodes?: EditorNodes } };

describe('the dashboard example, in a browser', function () {
  this.timeout(120_000);
  let emulator: Emulator;
  let nodeRed: NodeRedProcess;
  let browser: Browser;
  let page: Page;
  /** Uncaught errors in the page (editor or dashboard): any one is a defect. */
  const pageErrors: string[] = [];

  before(async () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    emulator = await startEmulator();
    [nodeRed, browser] = await Promise.all([
      startNodeRedProcess({
        dashboard: true,
        flows: [{ id: CONFIG_ID, type: 'replicate-config', name: 'Replicate (local emulator)', baseUrl: emulator.url }],
        credentials: { [CONFIG_ID]: { token: DEFAULT_TOKEN } },
      }),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] }),
    ]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
    await emulator?.close();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await shot(`failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  it('imports the example from the Examples menu into a new flow, every node valid, and deploys it', async () => {
    await page.goto(`${nodeRed.url}/`);
    // the palette holds the dashboard's nodes and ours
    await page.waitForFunction(
      () => {
        const nodes = (window as EditorWindow).RED?.nodes;
        return nodes?.getType('ui-template') && nodes.getType('replicate-create-prediction');
      },
      undefined,
      { timeout: 60_000 },
    );
    await page.locator('#red-ui-header-button-sidemenu').click();
    await page.locator('#menu-item-import').click();
    await page.locator('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples').click();
    const examples = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
    await examples.getByText('@nr-replicate/node-red-replicate', { exact: true }).click();
    await examples.getByText(EXAMPLE, { exact: true }).click();
    await page.locator('#red-ui-clipboard-dialog-import-opt-new').click();
    await page.locator('#red-ui-clipboard-dialog-ok').click();
    // the imported nodes hang from the mouse by their top-left corner (5 px out, each node 100 x 30 until drawn) until a
    // click puts them down: there, they land where the example has them
    const placed = (
      JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', `${EXAMPLE}.json`), 'utf8')) as Array<{ x?: number; y?: number }>
    ).filter((n) => n.x !== undefined && n.y !== undefined);
    const chart = (await page.locator('#red-ui-workspace-chart').boundingBox())!;
    const left = Math.min(...placed.map((n) => n.x! - 50)) - 5;
    const top = Math.min(...placed.map((n) => n.y! - 15)) - 5;
    await page.mouse.move(chart.x + left, chart.y + top, { steps: 5 });
    await page.mouse.down();
    await page.mouse.up();

    // the editor validates every node as it would draw the red triangle: the dashboard's config nodes too
    const imported = await page.evaluate(() => {
      const nodes = (window as EditorWindow).RED!.nodes!;
      const all: EditorNode[] = [];
      nodes.eachNode((n) => all.push({ type: n.type, name: n.name, valid: n.valid }));
      nodes.eachConfig((n) => all.push({ type: n.type, name: n.name, valid: n.valid }));
      return all;
    });
    should(imported.filter((n) => n.valid === false)).eql([]);
    should(imported.map((n) => n.type).sort()).containDeep(['ui-base', 'ui-page', 'ui-group', 'ui-group', 'ui-theme', 'ui-template']);
    should(imported.filter((n) => n.type === 'replicate-config')).have.length(1); // the example brings none of its own

    await page.locator('#red-ui-header-button-deploy').click();
    await page
      .locator('.red-ui-notification', { hasText: /deployed/i })
      .first()
      .waitFor();
    should(pageErrors).eql([]);
    // the flow as the example lays it out, once the notices are gone and nothing is selected
    await page.locator('.red-ui-notification').last().waitFor({ state: 'hidden' });
    const right = Math.max(...placed.map((n) => n.x! + 100));
    const bottom = Math.max(...placed.map((n) => n.y! + 40));
    await page.mouse.click(chart.x + 40, chart.y + bottom + 60); // the empty workspace below the flow
    await page.screenshot({
      path: path.join(ARTIFACTS, '1-example-flow.png'),
      clip: { x: chart.x, y: chart.y, width: Math.min(right, chart.width), height: bottom },
    });
  });

  /** The page's answer box, each time its text changes, until it shows `whole` (known once the model is done). */
  async function watchAnswer(whole: () => string | undefined): Promise<string[]> {
    const seen: string[] = [];
    const answer = page.locator('.replicate-answer').first();
    for (const until = Date.now() + 30_000; Date.now() < until;) {
      const text = (await answer.textContent().catch(() => null)) ?? '';
      if (text !== (seen.at(-1) ?? '')) {
        seen.push(text);
        if (seen.length === 4) await shot('2-dashboard-answer-streaming'); // a few lines in
      }
      if (text !== '' && text === whole()) return seen;
      await page.waitForTimeout(100);
    }
    throw new Error(`the answer did not finish; the page showed:\n${seen.join('\n---\n')}`);
  }

  it('streams the answer to a question into the page as the model writes it', async () => {
    await page.goto(`${nodeRed.url}/dashboard/replicate`);
    const question = page.getByLabel('Ask a question, then press Enter');
    await question.waitFor({ timeout: 60_000 });
    // the model writes for 4 s, so the page is seen part way
    emulator.fault({ type: 'timing', startingMs: 200, processingMs: 4000 });
    await question.fill('Why is the sky blue?');
    await question.press('Enter');

    // the node's final GET once the stream has ended (the stream itself is on the emulator's stream origin)
    const predictionId = () => emulator.requests.map((r) => /^\/v1\/predictions\/([^/]+)$/.exec(r.path)?.[1]).find(Boolean);
    const seen = await watchAnswer(() => {
      const id = predictionId();
      const prediction = id ? emulator.prediction(id) : undefined;
      return prediction?.status === 'succeeded' ? (prediction.output as string[]).join('') : undefined;
    });
    // several observations, each more of the same text, the last one the whole answer
    should(seen.length).be.aboveOrEqual(4);
    seen.slice(1).forEach((text, i) => should(text.startsWith(seen[i]!) && text.length > seen[i]!.length).be.true());
    should(sentCreate(emulator.requests.find((r) => r.method === 'POST')!).input).eql({ max_tokens: 512, prompt: 'Why is the sky blue?' });
    should(pageErrors).eql([]);
  });

  it('shows the image generated for a prompt on the page', async () => {
    const prompt = page.getByLabel('Describe an image, then press Enter');
    await prompt.fill('a lighthouse at dawn');
    await prompt.press('Enter');
    const image = page.locator('img.replicate-image');
    await image.waitFor({ timeout: 30_000 });
    await image.evaluate((img: HTMLImageElement) => img.decode()); // once it has loaded; a broken image rejects
    should(await image.evaluate((img: HTMLImageElement) => img.naturalWidth)).be.above(0); // loaded, not a broken image
    should(await image.getAttribute('src')).startWith(`${emulator.origin}/outputs/`);
    should(pageErrors).eql([]);
    await shot('3-dashboard-answer-and-image');
  });
});
