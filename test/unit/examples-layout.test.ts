// Every example as the editor draws it: no node over another, everything inside the view a user
// sees at the default zoom, and every property of our nodes written out (the editor fills a
// missing one with its default, the runtime does not: an example must not depend on which).
// The editor places a node two ways: a flow it loads has x at the node's centre; a flow imported
// (Import > Examples) starts each node 100 px wide at x and widens it to the right once its label
// is measured (view.js: d.x += (d.w - ow) / 2), so its left edge stays at x - 50. Both must hold.
import fs from 'fs';
import path from 'path';
import should from 'should';
import { registeredDefinition } from '../support/editor-script';
import { editorTranslator } from '../support/catalogs';
import { VIEW } from '../support/workspace-view';

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');

/** Room for the ports (5 px each side) and a wire between neighbours in a row; between rows. */
const GAP = { x: 20, y: 10 };

type FlowNode = Record<string, unknown> & { id: string; type: string; x?: number; y?: number; name?: string; outputs?: number };
interface Box {
  node: FlowNode;
  label: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

interface Definition {
  defaults: Record<string, { value?: unknown }>;
  outputs?: number;
  label: (this: unknown) => string;
}

function definitionOf(type: string): Definition {
  const anything = (): unknown => new Proxy(() => anything(), { get: () => anything() });
  return registeredDefinition<Definition>(type, { validators: anything(), settings: {} }, { $: anything() });
}

/**
 * Label width in the editor's 14 px sans-serif, per character class, erring wide: at least the width
 * Chromium on Linux draws (DejaVu Sans, wider than Helvetica) for every label of the examples.
 */
function textWidth(text: string): number {
  let width = 0;
  for (const c of text) {
    if (/[il.,:;|!'()[\]ftjr ]/.test(c)) width += 4.5;
    else if (/[mwMW@%]/.test(c)) width += 12.5;
    else if (/[A-Z]/.test(c)) width += 9.5;
    else width += 8;
  }
  return width * 1.1;
}

type Placement = 'loaded' | 'imported';

/** The box the editor draws (view.js: at least 100 x 30, label + icon rounded up to 20 px, 15 px per output). */
function boxOf(node: FlowNode, label: string, placement: Placement = 'loaded'): Box {
  const width = Math.max(100, 20 * Math.ceil((textWidth(label) + 50 + 7) / 20));
  const height = Math.max(30, (node.outputs ?? 1) * 15);
  const left = placement === 'loaded' ? node.x! - width / 2 : node.x! - 50;
  const y = node.y!;
  return { node, label, left, right: left + width, top: y - height / 2, bottom: y + height / 2 };
}

function labelOf(node: FlowNode, definitions: Map<string, Definition>): string {
  if (typeof node.name === 'string' && node.name !== '') return node.name;
  const definition = definitions.get(node.type);
  return definition ? definition.label.call({ ...node, _: editorTranslator('en-US', node.type) }) : node.type;
}

const overlap = (a: Box, b: Box) =>
  a.left < b.right + GAP.x && b.left < a.right + GAP.x && a.top < b.bottom + GAP.y && b.top < a.bottom + GAP.y;

describe('example layouts', () => {
  const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
  const read = (file: string) => JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as FlowNode[];
  const ours = new Map<string, Definition>();
  for (const type of new Set(files.flatMap((file) => read(file).map((n) => n.type)))) {
    if (type.startsWith('replicate-')) ours.set(type, definitionOf(type));
  }

  for (const file of files) {
    describe(file, () => {
      const flow = read(file);
      const placed = flow.filter((n) => typeof n.x === 'number' && typeof n.y === 'number');
      const boxes = (placement: Placement) => placed.map((n) => boxOf(n, labelOf(n, ours), placement));
      const shown = (b: Box) => `${b.node.type} "${b.label}" (${b.node.x}, ${b.node.y})`;

      for (const placement of ['imported', 'loaded'] as const) {
        it(`puts no node over another, ${placement}`, () => {
          const problems: string[] = [];
          const all = boxes(placement);
          all.forEach((a, i) => all.slice(i + 1).forEach((b) => overlap(a, b) && problems.push(`${shown(a)} and ${shown(b)}`)));
          should(problems).eql([]);
        });

        it(`fits in what a 1400 x 900 window shows with the palette and sidebar open (${VIEW.width} x ${VIEW.height} px), ${placement}`, () => {
          const outside = boxes(placement)
            .filter((b) => b.left < 0 || b.top < 0 || b.right > VIEW.width || b.bottom > VIEW.height)
            .map(shown);
          should(outside).eql([]);
        });
      }

      it('writes every property of our nodes', () => {
        const missing: string[] = [];
        for (const node of flow) {
          const definition = ours.get(node.type);
          if (!definition) continue;
          for (const property of Object.keys(definition.defaults))
            if (!(property in node)) missing.push(`${node.type} "${node.name}": ${property}`);
        }
        should(missing).eql([]);
      });
    });
  }

  it('estimates widths as the editor draws them', () => {
    // a short label keeps the minimum; a long one grows the box in 20 px steps, wider than its text
    should(boxOf({ id: 'a', type: 'debug', x: 100, y: 100 }, 'error')).match({ left: 50, right: 150, top: 85, bottom: 115 });
    // imported: 100 px wide at x first, then wider to the right
    should(boxOf({ id: 'a', type: 'debug', x: 100, y: 100 }, 'a longer label here', 'imported')).match({ left: 50 });
    // what the editor drew for two labels of the examples (Chromium, Linux): 300 and 680 px
    should(boxOf({ id: 'd', type: 'x', x: 0, y: 0 }, 'create prediction (SDXL version)').right * 2).be.within(300, 320);
    const widest = boxOf(
      { id: 'e', type: 'comment', x: 0, y: 0 },
      'Continue the flow when the prediction completes: a verified webhook instead of polling',
    );
    should(widest.right * 2).be.within(680, 720);
    const long = boxOf({ id: 'b', type: 'comment', x: 400, y: 60 }, 'Predict and poll: run a model version, wait for it');
    should(long.right - long.left).be.within(340, 480);
    should((long.right - long.left) % 20).equal(0);
    should(boxOf({ id: 'c', type: 'switch', x: 100, y: 100, outputs: 4 }, 'x').bottom - 100).equal(30);
  });
});
