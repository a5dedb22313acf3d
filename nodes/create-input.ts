// What a create node's message becomes as the model's input, as its help says: msg.payload as an
// object of inputs over the default input, a plain string as the prompt, a Buffer (core read file's)
// as the model's file input; a form row bound to msg.payload takes it as it is instead. Every check
// here fails before any upload: a file too large, a missing file input, the schema (Validate input).
import type { Node } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import type { FlowNode, Msg } from './flow-node';
import type { MessageSettings } from './typed-settings';

type NamedField = 'promptField' | 'fileField';

/** One create node's reader of a message's model input (what it has said about its fields is the node's). */
export function modelInputReader(node: Node, flow: FlowNode) {
  // which input a plain string or a file payload went into is said once, not for every message
  const named = new Set<NamedField>();
  const sayOnce = (key: NamedField, field: string) => {
    if (named.has(key)) return;
    named.add(key);
    flow.show('blue', key, { field }, 'ring');
    node.log(flow.say({ key: `create.${key}`, vars: { field } }));
  };

  return async function modelInputOf(
    client: Core.ReplicateClient,
    msg: Msg,
    { target, defaults, payloadField }: Pick<MessageSettings, 'target' | 'defaults' | 'payloadField'>,
    validate: boolean,
  ): Promise<Record<string, unknown>> {
    const c = core();
    // The schema is a help, not a gate: when Replicate cannot answer it now, the create goes unchecked (Replicate checks too).
    const knownInput = async () => {
      const cached = c.knownModelInput(client, target);
      if (cached) return cached.input;
      return c.modelInput(client, target, { signal: flow.signal, onRetry: flow.retrying }).catch((err: Core.ReplicateError) => {
        if (err.retryable && !flow.signal.aborted) return undefined;
        throw err;
      });
    };
    // a form row bound to msg.payload took it as it is: it is then not also the input object, a prompt or a file
    const payload = payloadField === undefined ? msg.payload : undefined;
    const prompt = typeof payload === 'string' && payload !== '' ? payload : undefined;
    const file = c.isFileData(payload) ? payload : undefined;
    let input = prompt === undefined && file === undefined ? { ...defaults, ...c.readModelInput(payload) } : { ...defaults };
    // before any request: a file too large to upload fails the message at once
    c.checkFileSizes(file ? { ...input, 'msg.payload': file } : input);
    if (prompt !== undefined) {
      // A plain string is the prompt: said once, on the status and in the log, which input it went into.
      const known = await knownInput();
      const field = (known && c.promptFieldOf(known.fields)) ?? 'prompt';
      sayOnce('promptField', field);
      input[field] = prompt;
    }
    if (file !== undefined) {
      // A Buffer (core read file's) is the model's file: its first required file input, else its only one.
      const known = await knownInput();
      const field = known && c.fileFieldOf(known.fields);
      if (!field) throw new c.InputError('create.noFileField');
      sayOnce('fileField', field);
      input[field] = file;
    }
    if (validate) {
      const known = await knownInput();
      if (known) input = c.checkInput(known.fields, input, known.model);
    }
    return input;
  };
}
