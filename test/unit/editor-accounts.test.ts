// A flow node added from the palette takes the Replicate account when exactly one can serve it:
// each dialog's script runs here as the editor runs it, with the editor's config nodes stood in.
import should from 'should';
import { FLOW_NODES, registeredDefinition } from '../support/editor-script';

interface Config {
  id: string;
  type: string;
  z?: string;
}

/** A node as the editor creates it from the palette (defaults filled in), after the definition's onadd. */
function added(type: string, configs: Config[], node: Record<string, unknown> = {}): Record<string, unknown> {
  const anything = (): unknown => new Proxy(() => anything(), { get: () => anything() });
  const RED = { validators: anything(), settings: {}, nodes: { eachConfig: (each: (config: Config) => void) => configs.forEach(each) } };
  const definition = registeredDefinition<{ onadd?: (this: Record<string, unknown>) => void }>(type, RED, { $: anything() });
  const created = { type, z: 'flow-1', replicate: '', ...node };
  should(definition.onadd).be.a.Function();
  definition.onadd!.call(created);
  return created;
}

describe('a flow node added from the palette', () => {
  for (const type of FLOW_NODES) {
    describe(type, () => {
      it('selects the Replicate account when there is exactly one', () => {
        should(added(type, [{ id: 'acct', type: 'replicate-config' }]).replicate).equal('acct');
        // another package's config nodes do not count, nor an account scoped to another flow
        const others = [
          { id: 'mqtt', type: 'mqtt-broker' },
          { id: 'acct', type: 'replicate-config', z: 'flow-1' },
          { id: 'elsewhere', type: 'replicate-config', z: 'flow-2' },
        ];
        should(added(type, others).replicate).equal('acct');
      });

      it('leaves the choice to the user with none or several, and keeps one already set', () => {
        should(added(type, []).replicate).equal('');
        const two = [
          { id: 'a', type: 'replicate-config' },
          { id: 'b', type: 'replicate-config' },
        ];
        should(added(type, two).replicate).equal('');
        should(added(type, [{ id: 'a', type: 'replicate-config' }], { replicate: 'b' }).replicate).equal('b');
      });
    });
  }
});
