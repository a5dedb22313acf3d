// The editor in a real browser (Debian's chromium, driven by playwright-core), against Node-RED
// and the local emulator in this process: the palette, the create dialog with its model picker
// and input form, a config node added from the dialog, a deploy, the result in the debug sidebar,
// and a newcomer's first flow that saves a generated image with the core file out node.
// Screenshots go to test-artifacts/ for a person to look at.
import fs from 'fs';
import os from 'os';
import path from 'path';
import should from 'should';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { DEFAULT_TOKEN, startEmulator, type Emulator } from '../../emulator';
import { SAMPLES } from '../../emulator/sample-files';
import { sentCreate } from '../emulator-support/wire';
import { FLOW_NODES } from '../support/editor-script';
import { VIEW } from '../support/workspace-view';
import { PACKAGE_ROOT, startNodeRedInProcess, type NodeRedInProcess } from '../support/node-red-host';

// on another Node-RED (test-compat --browser), beside the compatibility logs: the README shows the default run's
const ARTIFACTS = process.env.NODE_RED_PATH
  ? path.join(PACKAGE_ROOT, 'test-artifacts', 'compat', 'browser')
  : path.join(PACKAGE_ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IMAGE = 'https://files.example.com/lighthouse.png';
/** What these tests use of the editor's globals in the page: RED, and jQuery with Node-RED's typedInput. */
interface EditorNode {
  id: string;
  type: string;
  [property: string]: unknown;
}
interface EditorGlobals {
  RED: {
    nodes: {
      getType(type: string): { category: string } | undefined;
      node(id: string): EditorNode;
      eachNode(fn: (node: EditorNode) => void): void;
      eachLink(fn: () => void): void;
    };
  };
  $(selector: string): { typedInput(method: 'value' | 'type', value?: string): string };
}

describe('the editor, in a browser', function () {
  this.timeout(120_000);
  let emulator: Emulator;
  let nodeRed: NodeRedInProcess;
  let browser: Browser;
  let page: Page;
  /** Where the file out node writes a relative filename (settings.fileWorkingDirectory). */
  let savedFiles: string;
  /** Uncaught errors in the editor: any one of ours is a defect. */
  const pageErrors: string[] = [];

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const old of fs.readdirSync(ARTIFACTS).filter((f) => f.endsWith('.png'))) fs.rmSync(path.join(ARTIFACTS, old));
    emulator = await startEmulator();
    savedFiles = fs.mkdtempSync(path.join(os.tmpdir(), 'nr-replicate-saved-'));
    nodeRed = await startNodeRedInProcess({
      settings: { httpAdminRoot: '/', httpNodeRoot: '/api', fileWorkingDirectory: savedFiles },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${nodeRed.url}/`);
    await page.waitForFunction(
      () => (window as unknown as Partial<EditorGlobals>).RED?.nodes?.getType?.('replicate-create-prediction'),
      undefined,
      { timeout: 60_000 },
    );
    await page.locator('#red-ui-palette-container').waitFor();
  });

  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
    await emulator?.close();
    if (savedFiles) fs.rmSync(savedFiles, { recursive: true, force: true });
  });

  /** The page, or the part of it in `clip`. */
  const shot = (name: string, clip?: { x: number; y: number; width: number; height: number }) =>
    page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), clip });
  type Box = { x: number; y: number; width: number; height: number };
  /** A screenshot of the boxes and a margin around them (top, right, bottom, left, as in CSS). */
  const shotAround = (name: string, boxes: Box[], [top, right, bottom, left]: [number, number, number, number]) => {
    const x = Math.min(...boxes.map((b) => b.x)) - left;
    const y = Math.min(...boxes.map((b) => b.y)) - top;
    const width = Math.max(...boxes.map((b) => b.x + b.width)) + right - x;
    const height = Math.max(...boxes.map((b) => b.y + b.height)) + bottom - y;
    return shot(name, { x, y, width, height });
  };

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await shot(`failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  /** Imports the nodes into the editor on `on` (a flow node, one with x, onto the active flow) and opens node `id`'s edit dialog. */
  async function importAndEdit(on: Page, id: string, nodes: Array<Record<string, unknown>>): Promise<void> {
    await on.evaluate(
      ({ id, nodes }) => {
        const { RED } = window as unknown as {
          RED: {
            view: { importNodes(nodes: object[]): void };
            workspaces: { active(): string };
            nodes: { node(id: string): object };
            editor: { edit(node: object): void };
          };
        };
        RED.view.importNodes(nodes.map((node) => ('x' in node ? { ...node, z: RED.workspaces.active() } : node)));
        RED.editor.edit(RED.nodes.node(id));
      },
      { id, nodes },
    );
  }

  /** Press, move in small steps (jQuery UI starts a drag only after a few pixels), release. */
  async function glide(fromX: number, fromY: number, toX: number, toY: number) {
    await page.mouse.move(fromX, fromY);
    await page.mouse.down();
    const steps = Math.max(10, Math.ceil(Math.hypot(toX - fromX, toY - fromY) / 8));
    for (let i = 1; i <= steps; i++) await page.mouse.move(fromX + ((toX - fromX) * i) / steps, fromY + ((toY - fromY) * i) / steps);
    await page.mouse.up();
  }

  /** Filters the palette by typing, as a user does (the palette listens to key events, not to value changes). */
  async function filterPalette(text: string) {
    const search = page.locator('#red-ui-palette-search input');
    await search.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Backspace');
    if (text) await search.pressSequentially(text);
    await page.waitForTimeout(300);
  }

  /** Drags a palette node into the workspace as a user does: filter the palette, then many small moves. */
  async function dragIntoWorkspace(type: string, x: number, y: number): Promise<string> {
    await filterPalette(type.replace(/^replicate-/, '').replace(/-/g, ' '));
    const item = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
    await item.waitFor();
    // the palette animates its categories open and shut: wait until the item stands still
    let from = (await item.boundingBox())!;
    for (let settled = false; !settled;) {
      await page.waitForTimeout(150);
      const now = (await item.boundingBox())!;
      settled = now.x === from.x && now.y === from.y;
      from = now;
    }
    const chart = (await page.locator('#red-ui-workspace-chart').boundingBox())!;
    const idsOf = (t: string) =>
      page.evaluate((t) => {
        const ids: string[] = [];
        (window as unknown as EditorGlobals).RED.nodes.eachNode((n) => {
          if (n.type === t) ids.push(n.id);
        });
        return ids;
      }, t);
    const before = await idsOf(type);
    await glide(from.x + from.width / 2, from.y + from.height / 2, chart.x + x, chart.y + y);
    await filterPalette('');
    const added = (await idsOf(type)).filter((id) => !before.includes(id));
    should(pageErrors).eql([]);
    should(added).have.length(1);
    return added[0]!;
  }

  /** Opens a node's edit dialog with a double click. */
  async function openDialog(id: string, field: string) {
    await page.locator(`[id="${id}"]`).dblclick();
    await page.locator(field).waitFor({ state: 'attached' });
  }

  /** Chooses a TypedInput's type from its menu and types its value, as a user does (`within` holds that one TypedInput). */
  async function chooseType(within: Locator, type: string, value: string) {
    await within.locator('.red-ui-typedInput-type-select').click();
    await page.locator(`.red-ui-typedInput-options:visible [value="${type}"]`).click();
    await within.locator('input.red-ui-typedInput-input').fill(value);
  }

  /** Adds a Replicate account for the emulator from the open create dialog. */
  async function addAccount() {
    await page.locator('#node-input-btn-replicate-add, #node-input-lookup-replicate').first().click(); // Node-RED 4 / 3
    await page.locator('#node-config-input-token').waitFor();
    await page.locator('#node-config-input-name').fill('Emulator account');
    await page.locator('#node-config-input-token').fill(DEFAULT_TOKEN);
    await page.locator('#node-config-input-baseUrl').fill(emulator.url);
    await page.locator('#node-config-replicate-test').click();
    await page.locator('#node-config-replicate-test-result', { hasText: 'Connected as' }).waitFor();
    await page.locator('#node-config-dialog-ok').click();
    await page.locator('#replicate-picker-open').waitFor({ state: 'visible' });
  }

  /** Deploys and waits for the editor to say so (a notice from an earlier deploy gone first). */
  async function deploy() {
    const deployed = page.locator('.red-ui-notification', { hasText: /deployed/i });
    await deployed.first().waitFor({ state: 'hidden' });
    await page.locator('#red-ui-header-button-deploy').click();
    await deployed.first().waitFor();
  }

  /** Wires an output port to an input port with the mouse. */
  async function wire(fromId: string, toId: string) {
    const out = (await page.locator(`[id="${fromId}"] .red-ui-flow-port-output`).first().boundingBox())!;
    const into = (await page.locator(`[id="${toId}"] .red-ui-flow-port-input`).first().boundingBox())!;
    await glide(out.x + out.width / 2, out.y + out.height / 2, into.x + into.width / 2, into.y + into.height / 2);
  }

  it('shows all seven nodes, the six flow nodes in the Replicate palette category with their own icons', async () => {
    const types = await page.evaluate(
      (types) => types.map((type) => [type, (window as unknown as EditorGlobals).RED.nodes.getType(type)?.category ?? null]),
      ['replicate-config', ...FLOW_NODES],
    );
    should(types).eql([['replicate-config', 'config'], ...FLOW_NODES.map((type) => [type, 'Replicate'])]);
    await filterPalette('replicate');
    for (const type of FLOW_NODES) {
      const icon = page.locator(`.red-ui-palette-node[data-palette-type="${type}"] .red-ui-palette-icon`);
      await icon.waitFor();
      should(await icon.evaluate((el) => getComputedStyle(el).backgroundImage)).match(
        /icons\/@nr-replicate\/node-red-replicate\/replicate-[a-z]+\.svg/,
      );
    }
    await shot('1-palette');
    await filterPalette('');
  });

  it('shows at least the part of the workspace the examples are laid out for, in a 1400 x 900 window with palette and sidebar open', async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    try {
      await page.waitForTimeout(500); // the editor lays itself out again on resize
      const chart = await page.locator('#red-ui-workspace-chart').evaluate((el) => ({ width: el.clientWidth, height: el.clientHeight }));
      should(await page.locator('#red-ui-palette').isVisible()).be.true();
      should(await page.locator('#red-ui-sidebar').isVisible()).be.true();
      should(chart.width).be.aboveOrEqual(VIEW.width);
      should(chart.height).be.aboveOrEqual(VIEW.height);
    } finally {
      await page.setViewportSize({ width: 1600, height: 1000 });
    }
  });

  /** Picks a model from the picker's search results, as a user does. */
  async function pickModel(query: string, ref: string) {
    if (!(await page.locator('#replicate-picker').isVisible())) await page.locator('#replicate-picker-open').click();
    await page.locator('#replicate-picker-query').fill('');
    await page.locator('#replicate-picker-query').pressSequentially(query);
    await page.keyboard.press('Enter');
    await page.locator('.replicate-picker-item', { hasText: ref }).first().click();
  }
  /** The picker folded away and the dialog scrolled to the model, for a screenshot of the form. */
  async function showForm() {
    if (await page.locator('#replicate-picker').isVisible()) await page.locator('#replicate-picker-open').click();
    await page.evaluate(() => document.getElementById('node-input-model')?.scrollIntoView({ block: 'start' }));
  }
  const formFields = () =>
    page.locator('#replicate-input-fields .replicate-form-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-field')));

  it('builds a flow with the picker and input form, deploys it and shows the result in the debug sidebar', async () => {
    const inject = await dragIntoWorkspace('inject', 150, 150);
    const create = await dragIntoWorkspace('replicate-create-prediction', 400, 150);
    const debug = await dragIntoWorkspace('debug', 650, 150);
    await wire(inject, create);
    await wire(create, debug);
    should(
      await page.evaluate(() => {
        let links = 0;
        (window as unknown as EditorGlobals).RED.nodes.eachLink(() => {
          links++;
        });
        return links;
      }),
    ).equal(2);
    // the inject sends an empty payload and the image the upscaler's form reads from msg.image
    await page.evaluate(
      ({ id, image }) => {
        const node = (window as unknown as EditorGlobals).RED.nodes.node(id);
        node.props = [
          { p: 'payload', v: '', vt: 'str' },
          { p: 'image', v: image, vt: 'str' },
        ];
        node.payload = '';
        node.payloadType = 'str';
      },
      { id: inject, image: IMAGE },
    );

    await openDialog(create, '#node-input-model');
    // a node from the palette sends on the finished prediction
    should(await page.locator('#node-input-wait').inputValue()).equal('complete');

    // a config node, added from the dialog
    await addAccount();

    // an image model: one widget per input, in the model's order
    await pickModel('flux schnell', 'black-forest-labs/flux-schnell');
    should(await page.evaluate(() => (window as unknown as EditorGlobals).$('#node-input-model').typedInput('value'))).equal(
      'black-forest-labs/flux-schnell',
    );
    await page.locator('#replicate-input-fields .replicate-form-row[data-field="prompt"]').waitFor();
    should(await formFields()).eql([
      'prompt',
      'aspect_ratio',
      'num_outputs',
      'num_inference_steps',
      'seed',
      'output_format',
      'output_quality',
      'disable_safety_checker',
      'go_fast',
      'megapixels',
    ]);
    should(await page.locator('.replicate-form-row[data-field="prompt"] .replicate-required').count()).equal(1);
    should(await page.locator('.replicate-payload-hint').textContent()).containEql('prompt');
    should(await page.locator('.replicate-input-json').isVisible()).be.false(); // the form replaces the JSON editor
    // a number beyond the model's range shows red; left empty, it is not sent
    const outputs = page.locator('.replicate-form-row[data-field="num_outputs"]');
    await outputs.locator('input.red-ui-typedInput-input').fill('9');
    await page.keyboard.press('Tab');
    should(await outputs.locator('.red-ui-typedInput-container.input-error').count()).equal(1);
    await outputs.locator('input.red-ui-typedInput-input').fill('');
    await page.keyboard.press('Tab');
    should(await outputs.locator('.red-ui-typedInput-container.input-error').count()).equal(0);
    await page.locator('.replicate-form-row[data-field="prompt"] textarea').fill('a lighthouse at dawn');
    await page.evaluate(() => {
      (window as unknown as EditorGlobals).$('#replicate-form-aspect_ratio').typedInput('value', '16:9');
    });
    await showForm();
    await shot('2-create-dialog-image-model');

    // an upscaler instead: the image model's fields go, and the dialog says which
    await pickModel('real-esrgan', 'nightmareai/real-esrgan');
    await page.locator('#replicate-input-fields .replicate-form-row[data-field="image"]').waitFor();
    should(await formFields()).eql(['image', 'scale', 'face_enhance']);
    should(await page.locator('.replicate-dropped').textContent()).containEql('prompt, aspect_ratio');
    should(await page.locator('.replicate-payload-hint').textContent()).not.containEql('goes to');
    should(await page.locator('.replicate-file-hint').textContent()).equal('A Buffer msg.payload (a file) goes to image');
    should(await page.locator('.replicate-form-row[data-field="image"] .replicate-form-note').textContent()).containEql('data: URL');
    // the image from msg.image, chosen as a user does: the type menu, then the property
    await chooseType(page.locator('.replicate-form-row[data-field="image"]'), 'msg', 'image');
    await page.locator('#node-input-pollInterval').fill('0.2');
    await showForm();
    await shot('3-create-dialog-upscaler');
    await page.locator('#node-dialog-ok').click();
    const saved = await page.evaluate((id) => {
      const node = (window as unknown as EditorGlobals).RED.nodes.node(id);
      return { input: node.input, inputFields: node.inputFields, wait: node.wait };
    }, create);
    should(saved).eql({ input: '{}', inputFields: { image: { type: 'msg', value: 'image' } }, wait: 'complete' });

    await deploy();

    // the debug sidebar: a tab in Node-RED 4, a panel of its own in Node-RED 5
    await page.evaluate(() => (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('debug'));
    await page.locator(`[id="${inject}"] .red-ui-flow-node-button`).click();
    const result = page.locator('.red-ui-debug-msg').first();
    await result.waitFor({ timeout: 30_000 });
    await result.locator('.red-ui-debug-msg-object-header').first().click(); // open the prediction object
    await result.locator('.red-ui-debug-msg-object-key', { hasText: 'status' }).first().waitFor();
    const shown = await result.textContent();
    should(shown).containEql('succeeded');
    should(pageErrors).eql([]);
    await shot('4-debug-result');
    // only the upscaler's input, its image read from the message
    const sent = sentCreate(emulator.requests.find((r) => r.method === 'POST')!);
    should(sent.input).eql({ image: IMAGE });
  });

  it('takes a newcomer from an empty flow to a saved image, without JSON or a function node', async () => {
    const inject = await dragIntoWorkspace('inject', 150, 300);
    const create = await dragIntoWorkspace('replicate-create-prediction', 400, 300);
    const fileOut = await dragIntoWorkspace('file', 750, 300);
    await wire(inject, create);
    await wire(create, fileOut);

    // the inject stays as dropped: its timestamp payload runs the input the form holds

    await openDialog(create, '#node-input-model');
    // the account an earlier test added is chosen for a new node; on its own, this test adds one
    if ((await page.locator('#node-input-replicate option:checked').textContent()) !== 'Emulator account') await addAccount();
    await pickModel('flux schnell', 'black-forest-labs/flux-schnell');
    await page.locator('.replicate-form-row[data-field="prompt"] textarea').fill('a lighthouse at dawn');
    await page.locator('#node-input-outputFiles').selectOption('message');
    await page.locator('#node-input-pollInterval').fill('0.2');
    await page.locator('#node-dialog-ok').click();

    // file out: each file under the name the prediction gave it (relative: in settings.fileWorkingDirectory)
    await openDialog(fileOut, '#node-input-filename');
    await chooseType(page.locator('.form-row.node-input-filename'), 'msg', 'filename');
    // overwrite: its default, append, would put a second image after the first on the next click
    await page.locator('#node-input-overwriteFile').selectOption('true');
    await page.locator('#node-dialog-ok').click();
    const settings = await page.evaluate(
      ({ create, fileOut }) => {
        const { nodes } = (window as unknown as EditorGlobals).RED;
        const c = nodes.node(create);
        const f = nodes.node(fileOut);
        return { outputFiles: c.outputFiles, wait: c.wait, filename: f.filename, filenameType: f.filenameType, overwrite: f.overwriteFile };
      },
      { create, fileOut },
    );
    should(settings).eql({ outputFiles: 'message', wait: 'complete', filename: 'filename', filenameType: 'msg', overwrite: 'true' });

    await deploy();
    const creates = emulator.requests.filter((r) => r.method === 'POST').length;
    await page.locator(`[id="${inject}"] .red-ui-flow-node-button`).click();
    // written once the whole image arrived (the file node may have it open a moment before)
    const png = SAMPLES.image.bytes;
    const sizeOf = (name: string) => fs.statSync(path.join(savedFiles, name)).size;
    let saved: string[] = [];
    for (const until = Date.now() + 30_000; Date.now() < until;) {
      saved = fs.readdirSync(savedFiles);
      if (saved.length > 0 && sizeOf(saved[0]!) >= png.length) break;
      await page.waitForTimeout(200);
    }
    should(saved).have.length(1);
    should(saved[0]).match(/\.png$/);
    const bytes = fs.readFileSync(path.join(savedFiles, saved[0]!));
    should(bytes.subarray(0, 8).toString('hex')).equal('89504e470d0a1a0a'); // the PNG signature
    should(bytes.equals(png)).be.true(); // the image the emulator served, byte for byte
    // the prompt from the form, nothing else
    const posts = emulator.requests.filter((r) => r.method === 'POST');
    should(posts).have.length(creates + 1);
    should(sentCreate(posts.at(-1)!).input).eql({ prompt: 'a lighthouse at dawn' });
    should(pageErrors).eql([]);
    // the three nodes and a margin around them
    await page.evaluate(() => document.getElementById('red-ui-workspace-chart')?.scrollTo(0, 0));
    const boxes = await Promise.all([inject, create, fileOut].map(async (id) => (await page.locator(`[id="${id}"]`).boundingBox())!));
    await shotAround('5-newcomer-flow-saved-image', boxes, [40, 40, 40, 40]);
  });

  it('sets up a training: a trainer from the search, its training form and the hardware list, both through the account', async () => {
    const train = await dragIntoWorkspace('replicate-create-training', 400, 650);
    await openDialog(train, '#node-input-trainer');
    if ((await page.locator('#node-input-replicate option:checked').textContent()) !== 'Emulator account') await addAccount();
    // Replicate's hardware list, loaded through the account; a new node keeps its default
    await page.locator('#node-input-hardware option[value="gpu-l40s"]').waitFor({ state: 'attached' });
    should(await page.locator('#node-input-hardware').inputValue()).equal('gpu-t4');

    await page.locator('#replicate-picker-open').click();
    await page.locator('#replicate-picker-query').pressSequentially('lora trainer');
    await page.keyboard.press('Enter');
    await page.locator('.replicate-picker-item', { hasText: 'ostris/flux-dev-lora-trainer' }).first().click();
    await page.locator('#replicate-input-fields .replicate-form-row[data-field="input_images"]').waitFor();
    const fields = await formFields();
    should(fields[0]).equal('input_images');
    should(fields).containEql('steps').and.containEql('trigger_word').and.not.containEql('prompt');
    // the dialogs' shared styles (resources/editor.css, added by editor.js) reach the page
    should(await page.locator('#replicate-input-fields').evaluate((e) => getComputedStyle(e).borderLeftStyle)).equal('solid');
    should(await page.locator('.replicate-payload-hint').textContent()).containEql('input_images');

    await page.evaluate(() =>
      (window as unknown as EditorGlobals).$('#node-input-destination').typedInput('value', 'emulator/browser-lora'),
    );
    await page.locator('.replicate-form-row[data-field="steps"] input.red-ui-typedInput-input').fill('500');
    await page.locator('#node-input-hardware').selectOption('cpu');
    await page.locator('#replicate-picker-open').click();
    await shot('6-training-dialog');
    await page.locator('#node-dialog-ok').click();
    const saved = await page.evaluate((id) => {
      const node = (window as unknown as EditorGlobals).RED.nodes.node(id);
      return { trainer: node.trainer, destination: node.destination, hardware: node.hardware, input: node.input, wait: node.wait };
    }, train);
    should(saved).match({
      trainer: /^ostris\/flux-dev-lora-trainer:[0-9a-f]{64}$/,
      destination: 'emulator/browser-lora',
      hardware: 'cpu',
      wait: 'complete',
    });
    should(JSON.parse(String(saved.input))).eql({ steps: 500 });
    should(pageErrors).eql([]);
  });

  it('runs the obvious image flow: read file, create with image = msg.payload, write file (overwrite), with the preview under the node', async () => {
    const photo = SAMPLES.image.bytes;
    fs.writeFileSync(path.join(savedFiles, 'photo.png'), photo);
    const inject = await dragIntoWorkspace('inject', 120, 450);
    const readFile = await dragIntoWorkspace('file in', 300, 450);
    const create = await dragIntoWorkspace('replicate-create-prediction', 500, 450);
    const writeFile = await dragIntoWorkspace('file', 750, 450);
    await wire(inject, readFile);
    await wire(readFile, create);
    await wire(create, writeFile);

    // read file: photo.png as one Buffer
    await openDialog(readFile, '#node-input-format');
    await page.evaluate(() => (window as unknown as EditorGlobals).$('#node-input-filename').typedInput('value', 'photo.png'));
    await page.locator('#node-input-format').selectOption('');
    await page.locator('#node-dialog-ok').click();

    await openDialog(create, '#node-input-model');
    if ((await page.locator('#node-input-replicate option:checked').textContent()) !== 'Emulator account') await addAccount();
    // a node from the palette shows its images
    should(await page.locator('#node-input-showImages').isChecked()).be.true();
    await pickModel('real-esrgan', 'nightmareai/real-esrgan');
    await page.locator('#replicate-input-fields .replicate-form-row[data-field="image"]').waitFor();
    should(await page.locator('.replicate-file-hint').textContent()).equal('A Buffer msg.payload (a file) goes to image');
    // the image row set to msg.payload, as a newcomer does it
    await chooseType(page.locator('.replicate-form-row[data-field="image"]'), 'msg', 'payload');
    await page.locator('#node-input-outputFiles').selectOption('message');
    await page.locator('#node-input-pollInterval').fill('0.2');
    await page.locator('#node-dialog-ok').click();

    // write file: upscaled.png, overwritten each time
    await openDialog(writeFile, '#node-input-overwriteFile');
    await page.evaluate(() => (window as unknown as EditorGlobals).$('#node-input-filename').typedInput('value', 'upscaled.png'));
    await page.locator('#node-input-overwriteFile').selectOption('true');
    await page.locator('#node-dialog-ok').click();
    const settings = await page.evaluate(
      ({ readFile, create, writeFile }) => {
        const { nodes } = (window as unknown as EditorGlobals).RED;
        const [r, c, w] = [nodes.node(readFile), nodes.node(create), nodes.node(writeFile)];
        return { format: r.format, inputFields: c.inputFields, showImages: c.showImages, overwrite: w.overwriteFile, filename: w.filename };
      },
      { readFile, create, writeFile },
    );
    should(settings).eql({
      format: '',
      inputFields: { image: { type: 'msg', value: 'payload' } },
      showImages: true,
      overwrite: 'true',
      filename: 'upscaled.png',
    });

    await deploy();
    const output = path.join(savedFiles, 'upscaled.png');
    /** The upscaled image of the newest prediction, as the emulator serves it, once that prediction has succeeded. */
    const upscaled = async (after: number): Promise<Buffer | undefined> => {
      const id = emulator.requests
        .slice(after)
        .map((r) => /^\/v1\/predictions\/([^/]+)$/.exec(r.path)?.[1])
        .find(Boolean);
      const prediction = id ? emulator.prediction(id) : undefined;
      if (prediction?.status !== 'succeeded') return undefined;
      return Buffer.from(await (await fetch(String(prediction.output))).arrayBuffer());
    };
    for (let run = 1; run <= 2; run++) {
      const creates = emulator.requests.filter((r) => r.method === 'POST').length;
      const requestsBefore = emulator.requests.length;
      fs.rmSync(output, { force: true });
      if (run === 2) fs.writeFileSync(output, Buffer.alloc(10, 0)); // overwritten, not appended to
      await page.locator(`[id="${inject}"] .red-ui-flow-node-button`).click();
      let expected: Buffer | undefined;
      for (const until = Date.now() + 30_000; Date.now() < until;) {
        expected ??= await upscaled(requestsBefore);
        if (expected && fs.existsSync(output) && fs.statSync(output).size === expected.length) break;
        await page.waitForTimeout(200);
      }
      // the file holds the model's image once: the input scaled up, not the photo and not two images appended
      should(expected).be.ok();
      should(expected!.length).not.equal(photo.length);
      should(fs.readFileSync(output).equals(expected!)).be.true();
      const posts = emulator.requests.filter((r) => r.method === 'POST');
      should(posts).have.length(creates + 1);
      // the photo's bytes went to the model's image input, inline
      should(sentCreate(posts.at(-1)!).input).eql({ image: `data:image/png;base64,${photo.toString('base64')}` });
    }

    // the upscaled image under the create node, from the URL Replicate gave
    const preview = page.locator(`[id="${create}"] image.replicate-preview`);
    await preview.waitFor();
    should(await preview.getAttribute('href')).match(/^http:\/\/127\.0\.0\.1:\d+\/outputs\/.+\.png$/);
    should(pageErrors).eql([]);
    await page.waitForTimeout(300); // the thumbnail takes its height once loaded
    const boxes = await Promise.all(
      [inject, readFile, create, writeFile]
        .map(async (id) => (await page.locator(`[id="${id}"]`).boundingBox())!)
        .concat(preview.boundingBox().then((box) => box!)),
    );
    await shotAround('6-image-flow-preview', boxes, [30, 30, 30, 20]);
  });

  it('shows the address Replicate calls in the prediction completed dialog, and warns when Replicate cannot reach it', async () => {
    const shown = async (publicUrl: string) => {
      const n = Math.random().toString(16).slice(2, 10);
      const id = `pc${n}`;
      await importAndEdit(page, id, [
        {
          id: `cfg${n}`,
          type: 'replicate-config',
          name: `public ${n}`,
          baseUrl: 'https://api.replicate.com/v1',
          webhookBaseUrl: publicUrl,
        },
        { id, type: 'replicate-prediction-completed', replicate: `cfg${n}`, url: '/replicate/done', x: 300, y: 600 },
      ]);
      await page.locator('#replicate-completed-path').waitFor();
      await page.waitForTimeout(300);
      const answer = {
        address: await page.locator('#replicate-completed-path').textContent(),
        copy: await page.locator('#replicate-completed-copy').isVisible(),
        warning: (await page.locator('#replicate-completed-unreachable').isVisible())
          ? await page.locator('#replicate-completed-unreachable').textContent()
          : '',
      };
      if (publicUrl.includes('192.168')) await shot('8-completed-dialog-address-warning');
      await page.locator('#node-dialog-cancel').click();
      await page.waitForTimeout(300);
      return { id, ...answer };
    };
    // the test's Node-RED serves flows under httpNodeRoot /api
    const reachable = await shown('https://nodered.example.com');
    should(reachable).match({ address: 'https://nodered.example.com/api/replicate/done', copy: true, warning: '' });
    const local = await shown('http://192.168.1.20:1880');
    should(local.address).equal('http://192.168.1.20:1880/api/replicate/done');
    should(local.warning!.trim()).startWith('Replicate cannot reach this address');
  });

  it('in German: palette names break only between words, and no dialog label is clipped or runs under its input', async () => {
    const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 1400, height: 900 } });
    const german = await context.newPage();
    try {
      await german.goto(`${nodeRed.url}/`);
      await german.waitForFunction(() =>
        (window as unknown as Partial<EditorGlobals>).RED?.nodes?.getType?.('replicate-create-prediction'),
      );
      await german.locator('.red-ui-palette-node[data-palette-type="replicate-prediction-completed"]').waitFor({ state: 'attached' });
      const broken = await german.evaluate((types) => {
        const problems: string[] = [];
        for (const type of types) {
          const item = document.querySelector(`.red-ui-palette-node[data-palette-type="${type}"]`)!;
          const label = item.getAttribute('data-palette-label') ?? '';
          const words = new Set(label.split(' '));
          const lines = item.querySelector('.red-ui-palette-label')!.innerHTML.split(/<br\/?>/);
          if (
            !lines.every((line) =>
              line
                .trim()
                .split(' ')
                .every((word) => words.has(word)),
            )
          )
            problems.push(`${label}: ${lines.join(' | ')}`);
        }
        return problems;
      }, FLOW_NODES);
      should(broken).eql([]);
      const clipped: string[] = [];
      for (const type of ['replicate-create-prediction', 'replicate-prediction-completed', 'replicate-get-prediction']) {
        await importAndEdit(german, `de-${type}`, [{ id: `de-${type}`, type, x: 300, y: 300 }]);
        await german.locator('#node-dialog-ok').waitFor();
        await german.waitForTimeout(500);
        if (type === 'replicate-create-prediction') await german.locator('#node-input-wait').selectOption('stream'); // its chunk settings show
        clipped.push(
          ...(await german
            .locator('.red-ui-tray .form-row label:visible')
            .evaluateAll(
              (labels, type) => labels.filter((l) => l.scrollWidth > l.clientWidth + 1).map((l) => `${type}: ${l.textContent?.trim()}`),
              type,
            )),
        );
        if (type === 'replicate-create-prediction') {
          // the Replicate account's dialog, from the create dialog
          await german.locator('#node-input-btn-replicate-add, #node-input-lookup-replicate').first().click();
          await german.locator('#node-config-input-token').waitFor();
          await german.waitForTimeout(500);
          clipped.push(
            ...(await german
              .locator('.red-ui-tray .form-row label:visible')
              .evaluateAll((labels) =>
                labels.filter((l) => l.scrollWidth > l.clientWidth + 1).map((l) => `replicate-config: ${l.textContent?.trim()}`),
              )),
          );
          await german.locator('#node-config-dialog-cancel').click();
          await german.waitForTimeout(300);
        }
        await german.screenshot({ path: path.join(ARTIFACTS, `7-german-${type}.png`) });
        await german.locator('#node-dialog-cancel').click();
        await german.waitForTimeout(300);
      }
      should(clipped).eql([]);
    } finally {
      await context.close();
    }
  });
});
