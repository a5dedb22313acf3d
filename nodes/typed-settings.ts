// The create node's TypedInput settings, read for one message: model, deployment, default input
// (with the input form's fields), webhook URL and Cancel-After. A fixed value is used as saved; a
// msg, flow, global or env property (or a JSONata expression) is read from this message, and a
// sentence about it names where the value came from (`msg.image`, `env.MODEL`).
import type { Node, NodeAPI } from 'node-red';
import type * as Core from './core';
import { core } from './lazy-core';
import { evaluate, say, type Msg } from './flow-node';

type Source = Core.CreateSettings['modelType'] | Core.CreateSettings['inputType'] | Core.FieldSource;

/** A text setting's value for this message, with the field a sentence about it names. */
export interface TypedText {
  text: string;
  field: Core.Field;
}

export interface MessageSettings {
  target: Core.PredictionTarget;
  /** The default input with the form's read fields; an empty field is not there. */
  defaults: Record<string, unknown>;
  /** The input field a form row binds to msg.payload: it took the payload as it is, which is then no input object, prompt or file. */
  payloadField?: string;
  webhook?: TypedText;
  cancelAfter?: TypedText;
}

function sourceLabel(type: Source, value: string): string {
  return type === 'jsonata' ? `JSONata ${value.length > 40 ? `${value.slice(0, 37)}...` : value}` : `${type}.${value}`;
}

/** msg.webhook as a prediction completed node leaves it ({id, timestamp} of its delivery): no URL for a create. */
function isDeliveryRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'id' in value && 'timestamp' in value;
}

/** Nodes that have warned that a setting overrules msg.webhook: once per node (a redeploy makes a new node). */
const warnedOfMsgWebhook = new WeakSet<Node>();

/** Reads TypedInput settings for one message: a text setting, and the default input with the form's fields. */
export function typedReader(RED: NodeAPI, node: Node, msg: Msg) {
  const c = core();
  const read = async (value: string, type: Source): Promise<{ value: unknown; label: string }> => {
    const label = sourceLabel(type, value);
    try {
      return { value: await evaluate(RED, node, value, type, msg), label };
    } catch (err) {
      throw new c.InputError('message.notRead', { field: label, reason: err instanceof Error ? err.message : String(err) });
    }
  };
  const text = async (value: string, type: Core.TextSource, setting: Core.Field, max?: number): Promise<TypedText | undefined> => {
    if (!value) return undefined;
    if (type === 'str') return { text: value, field: setting };
    const { value: found, label } = await read(value, type);
    const text = c.readTextValue(found, label, max);
    return text ? { text, field: label } : undefined;
  };

  /** The input field a form row binds to msg.payload, once defaults() has read the rows. */
  let payloadField: string | undefined;
  async function defaults(s: Pick<Core.CreateSettings, 'input' | 'inputType' | 'inputFields'>): Promise<Record<string, unknown>> {
    let input: Record<string, unknown>;
    // the settings' check makes `input` an object for json, and keeps a property name as text for the others
    if (typeof s.input === 'object') input = { ...s.input };
    else {
      const { value, label } = await read(s.input, s.inputType);
      input = { ...c.readInputObject(value, label) };
    }
    for (const [name, field] of Object.entries(s.inputFields)) {
      if (field.type === 'msg' && field.value === 'payload') payloadField = name;
      const { value } = await read(field.value, field.type);
      if (value !== undefined && value !== null && value !== '') input[name] = value;
    }
    return input;
  }

  return { text, defaults, payloadField: () => payloadField };
}

/**
 * Everything for this message. Where deliveries go follows Node-RED's convention (core http request
 * and msg.url): msg.webhook fills in only a webhook setting left empty or set to read it; with a
 * prediction completed node (toCompletedNode) or any other webhook setting, it is ignored, with a
 * warning once per node naming the setting that decides, so that a message from an untrusted source
 * cannot send the account's signed deliveries elsewhere.
 */
export async function readTypedSettings(
  RED: NodeAPI,
  node: Node,
  s: Core.CreateSettings,
  msg: Msg,
  toCompletedNode: boolean,
): Promise<MessageSettings> {
  const c = core();
  const { text, defaults, payloadField } = typedReader(RED, node, msg);

  async function target(): Promise<Core.PredictionTarget> {
    // a setting left empty (or empty where it points) keeps the older fallback on msg.deployment and msg.model
    const deployment = await text(s.deployment, s.deploymentType, { key: 'field.deploymentSetting' }, 200);
    if (deployment) return c.parseDeploymentRef(deployment.text, deployment.field);
    const model = await text(s.model, s.modelType, { key: 'field.modelSetting' }, 300);
    if (model) return c.parseModelRef(model.text, model.field);
    const fromMsg = c.readText(msg, 'deployment', 200);
    if (fromMsg) return c.parseDeploymentRef(fromMsg, 'msg.deployment');
    const modelFromMsg = c.readText(msg, 'model', 300);
    if (modelFromMsg) return c.parseModelRef(modelFromMsg, 'msg.model');
    throw new c.InputError('message.noModel');
  }

  async function webhook(): Promise<TypedText | undefined> {
    const fromMsg = isDeliveryRecord(msg.webhook) ? undefined : msg.webhook;
    const setting: Core.Field | undefined = toCompletedNode
      ? { key: 'field.webhookToSetting' }
      : !s.webhook || (s.webhookType === 'msg' && s.webhook === 'webhook')
        ? undefined
        : s.webhookType === 'str'
          ? { key: 'field.webhookUrlSetting' }
          : { key: 'field.webhookUrlFrom', vars: { source: sourceLabel(s.webhookType, s.webhook) } };
    if (setting === undefined) {
      const text = c.readTextValue(fromMsg, 'msg.webhook');
      return text ? { text, field: 'msg.webhook' } : undefined;
    }
    if (fromMsg !== undefined && fromMsg !== null && fromMsg !== '' && !warnedOfMsgWebhook.has(node)) {
      warnedOfMsgWebhook.add(node);
      node.warn(say(RED, { key: 'create.msgWebhookIgnored', vars: { setting } }));
    }
    return toCompletedNode ? undefined : text(s.webhook, s.webhookType, { key: 'field.webhookSetting' });
  }

  return {
    webhook: await webhook(),
    target: await target(),
    cancelAfter: await text(s.cancelAfter, s.cancelAfterType, { key: 'field.cancelAfterSetting' }, 40),
    defaults: await defaults(s),
    payloadField: payloadField(),
  };
}
