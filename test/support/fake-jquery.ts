// Just enough of jQuery, without a browser, to run a dialog function from resources/editor.js and
// look at what it built: elements made from tags, text, attributes, classes, values, visibility,
// and events a test triggers (click, change, keydown, scroll). Element ids are attributes.
import vm from 'vm';
import fs from 'fs';
import path from 'path';

export class FakeElement {
  readonly children: FakeElement[] = [];
  parent: FakeElement | undefined;
  readonly attrs: Record<string, string> = {};
  readonly classes = new Set<string>();
  readonly props: Record<string, unknown> = {};
  readonly handlers = new Map<string, Array<(this: FakeElement, event: FakeEvent) => unknown>>();
  text = '';
  hidden = false;
  // what the browser would measure: a test sets them before it triggers a scroll
  scrollTop = 0;
  clientHeight = 0;
  scrollHeight = 0;

  constructor(readonly tag: string) {}

  get textContent(): string {
    return this.text + this.children.map((child) => child.textContent).join('');
  }

  /** Every element below this one, depth first. */
  descendants(): FakeElement[] {
    return this.children.flatMap((child) => [child, ...child.descendants()]);
  }

  matches(selector: string): boolean {
    if (selector.startsWith('#')) return this.attrs.id === selector.slice(1);
    if (selector.startsWith('.')) return this.classes.has(selector.slice(1));
    return this.tag === selector;
  }
}

export interface FakeEvent {
  type: string;
  key?: string;
  preventDefault(): void;
}

export type FakeQuery = ReturnType<typeof wrap>;

function textNode(text: string): FakeElement {
  const node = new FakeElement('#text');
  node.text = text;
  return node;
}

/** `<tag a="b" c>` as jQuery makes it. */
function parseTag(html: string): FakeElement {
  const match = /^<([a-z]+)([^>]*)>$/i.exec(html.trim());
  if (!match) throw new Error(`fake jQuery makes single elements only, not ${html}`);
  const element = new FakeElement(match[1]!.toLowerCase());
  for (const attr of match[2]!.matchAll(/([\w-]+)(?:="([^"]*)")?/g)) {
    if (attr[1] === 'class') for (const name of attr[2]!.split(/\s+/).filter(Boolean)) element.classes.add(name);
    else element.attrs[attr[1]!] = attr[2] ?? '';
  }
  return element;
}

function wrap(elements: FakeElement[]) {
  const first = () => elements[0];
  const set = {
    0: elements[0],
    length: elements.length,
    elements,
    text(value?: string | number | boolean) {
      if (value === undefined) return elements.map((e) => e.textContent).join('');
      for (const e of elements) {
        e.children.length = 0;
        e.text = String(value);
      }
      return set;
    },
    append(...items: unknown[]) {
      const target = first()!;
      for (const item of items.flat()) {
        const nodes = typeof item === 'string' ? [textNode(item)] : (item as FakeQuery).elements;
        for (const node of nodes) {
          node.parent?.children.splice(node.parent.children.indexOf(node), 1);
          node.parent = target;
          target.children.push(node);
        }
      }
      return set;
    },
    empty() {
      for (const e of elements) {
        for (const child of e.children) child.parent = undefined;
        e.children.length = 0;
        e.text = '';
      }
      return set;
    },
    children() {
      return wrap(elements.flatMap((e) => e.children.filter((c) => c.tag !== '#text')));
    },
    find(selector: string) {
      return wrap(elements.flatMap((e) => e.descendants().filter((d) => d.matches(selector))));
    },
    attr(name: string, value?: string | number) {
      if (value === undefined) return first()?.attrs[name];
      for (const e of elements) e.attrs[name] = String(value);
      return set;
    },
    addClass(name: string) {
      for (const e of elements) e.classes.add(name);
      return set;
    },
    removeClass(name: string) {
      for (const e of elements) e.classes.delete(name);
      return set;
    },
    toggleClass(name: string, on: boolean) {
      for (const e of elements)
        if (on) e.classes.add(name);
        else e.classes.delete(name);
      return set;
    },
    hasClass(name: string) {
      return elements.some((e) => e.classes.has(name));
    },
    show() {
      for (const e of elements) e.hidden = false;
      return set;
    },
    hide() {
      for (const e of elements) e.hidden = true;
      return set;
    },
    toggle(on?: boolean) {
      for (const e of elements) e.hidden = on === undefined ? !e.hidden : !on;
      return set;
    },
    is(selector: string) {
      if (selector === ':visible') return elements.some((e) => !e.hidden);
      if (selector === ':checked') return elements.some((e) => e.props.checked === true);
      return elements.some((e) => e.matches(selector));
    },
    val(value?: string | number | boolean) {
      if (value === undefined) return first()?.props.value ?? first()?.attrs.value ?? '';
      for (const e of elements) e.props.value = String(value);
      return set;
    },
    prop(name: string, value?: unknown) {
      if (value === undefined) return first()?.props[name];
      for (const e of elements) e.props[name] = value;
      return set;
    },
    on(events: string, handler: (this: FakeElement, event: FakeEvent) => unknown) {
      for (const e of elements) {
        for (const type of events.split(/\s+/)) e.handlers.set(type, [...(e.handlers.get(type) ?? []), handler]);
      }
      return set;
    },
    trigger(type: string, extra: Partial<FakeEvent> = {}) {
      for (const e of elements) {
        const event: FakeEvent = { type, preventDefault: () => undefined, ...extra };
        for (const handler of e.handlers.get(type) ?? []) handler.call(e, event);
      }
      return set;
    },
  };
  return set;
}

/** `$`: makes an element from a tag, or wraps elements. */
export function fakeJQuery(html: string | FakeElement | FakeElement[]): FakeQuery {
  if (typeof html === 'string') return wrap([parseTag(html)]);
  return wrap(Array.isArray(html) ? html : [html]);
}

const RESOURCES = path.join(__dirname, '..', '..', '..', 'resources');

/** resources/editor.js run with the fake jQuery: the functions it gives the dialogs. */
export function editorResources(RED: Record<string, unknown> = {}): Record<string, unknown> {
  const context: Record<string, unknown> = vm.createContext({ $: fakeJQuery, RED });
  context.window = context;
  vm.runInContext(fs.readFileSync(path.join(RESOURCES, 'editor.js'), 'utf8'), context);
  return context;
}
