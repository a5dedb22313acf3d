// Every example as the editor draws it: no node over another, everything inside the view a user
// sees on import at the default zoom, and every property of our nodes written out (the editor
// fills a missing one with its default, the runtime does not: an example must not depend on which).
import fs from 'fs';
import path from 'path';
import should from 'should';
import { registeredDefinition } from '../support/editor-script';
import { editorTranslator } from '../support/catalogs';

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');
/** What a laptop shows of the workspace at zoom 1, below the header and beside the palette and sidebar. */
const VIEW = { width: 1400, height: 800 };
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

/** Label width in Node-RED's 14 px Helvetica, per character class, erring wide. */
function textWidth(text: string): number {
  let width = 0;
  for (const c of text) {
    if (/[il.,:;|!'()[\]ftjr ]/.test(c)) width += 4.5;
    else if (/[mwMW@%]/.test(c)) width += 12.5;
    else if (/[A-Z]/.test(c)) width += 9.5;
    else width += 8;
  }
  return width;
}

/** The box the editor draws (view.js: at least 100 x 30, label + icon rounded up to 20 px, 15 px per output). */
function boxOf(node: FlowNode, label: string): Box {
  const width = Math.max(100, 20 * Math.ceil((textWidth(label) + 50 + 7) / 20));
  const height = Math.max(30, (node.outputs ?? 1) * 15);
  const x = node.x!;
  const y = node.y!;
  return { node, label, left: x - width / 2, right: x + width / 2, top: y - height / 2, bottom: y + height / 2 };
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
      const boxes = flow.filter((n) => typeof n.x === 'number' && typeof n.y === 'number').map((n) => boxOf(n, labelOf(n, ours)));
      const shown = (b: Box) => `${b.node.type} "${b.label}" (${b.node.x}, ${b.node.y})`;

      it('puts no node over another', () => {
        const problems: string[] = [];
        boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => overlap(a, b) && problems.push(`${shown(a)} and ${shown(b)}`)));
        should(problems).eql([]);
      });

      it('fits in the first 1400 x 800 px at the default zoom', () => {
        const outside = boxes.filter((b) => b.left < 0 || b.top < 0 || b.right > VIEW.width || b.bottom > VIEW.height).map(shown);
        should(outside).eql([]);
      });

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
    const long = boxOf({ id: 'b', type: 'comment', x: 400, y: 60 }, 'Predict and poll: run a model version, wait for it');
    should(long.right - long.left).be.within(340, 480);
    should((long.right - long.left) % 20).equal(0);
    should(boxOf({ id: 'c', type: 'switch', x: 100, y: 100, outputs: 4 }, 'x').bottom - 100).equal(30);
  });
});
