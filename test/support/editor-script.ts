// A node's edit dialog script as the editor runs it: the package's editor resources first (what
// the .html loads with <script src="resources/...">), then the .html's own script, given the
// stand-ins for the editor's globals (RED, $) that a test needs. Returns what it registered.
import fs from 'fs';
import path from 'path';
import vm from 'vm';

/** The six flow nodes (all but the config node), each with a dialog of its own. */
export const FLOW_NODES = [
  'replicate-create-prediction',
  'replicate-get-prediction',
  'replicate-cancel-prediction',
  'replicate-list-models',
  'replicate-prediction-completed',
  'replicate-create-training',
];

const NODES = path.join(__dirname, '..', '..', 'nodes');
const RESOURCES = path.join(__dirname, '..', '..', '..', 'resources');

export function registeredDefinition<D>(type: string, RED: Record<string, unknown>, globals: Record<string, unknown> = {}): D {
  const html = fs.readFileSync(path.join(NODES, `${type}.html`), 'utf8');
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (!script) throw new Error(`${type}.html has no editor script`);
  let registered: D | undefined;
  const editor = {
    ...RED,
    nodes: { ...(RED.nodes as object), registerType: (name: string, definition: D) => name === type && (registered = definition) },
  };
  const context: Record<string, unknown> = vm.createContext({ ...globals, RED: editor });
  context.window = context;
  for (const src of html.matchAll(/<script src="resources\/@nr-replicate\/node-red-replicate\/([\w.-]+)"><\/script>/g)) {
    vm.runInContext(fs.readFileSync(path.join(RESOURCES, src[1]!), 'utf8'), context);
  }
  vm.runInContext(script, context);
  if (!registered) throw new Error(`${type}.html does not register ${type}`);
  return registered;
}

/** What one of the package's editor resources (resources/<file>) puts on `window`, run as the editor runs it. */
export function editorResource<T>(file: string, name: string, globals: Record<string, unknown> = {}): T {
  const context: Record<string, unknown> = vm.createContext({ ...globals });
  context.window = context;
  vm.runInContext(fs.readFileSync(path.join(RESOURCES, file), 'utf8'), context);
  return context[name] as T;
}
