// The prediction completed node's dialog refuses exactly what its runtime refuses: a setting the editor lets through
// would deploy as a node showing "invalid settings", one it refuses would be fine at run time.
// The editor script runs here with a stand-in RED that captures the node definition.
import should from 'should';
import { editorResource, registeredDefinition } from '../support/editor-script';
import { PredictionCompletedSettingsSchema, webhookUrl } from '../../nodes/core';
import { editorTranslator } from '../support/catalogs';

interface Property {
  required?: boolean;
  validate?: (this: unknown, value: unknown, opt?: object) => true | false | string;
}

function completedNodeDefinition(): { defaults: Record<string, Property> } {
  return registeredDefinition('replicate-prediction-completed', { validators: {}, settings: {} }, { $: () => ({}) });
}

/** The node as the editor passes it to a validator: its own catalog's translations, with placeholders filled. */
const node = { auth: 'signature', _: editorTranslator('en-US', 'replicate-prediction-completed') };

describe('the prediction completed dialog', () => {
  const { defaults } = completedNodeDefinition();
  const editorAnswer = (field: string, value: unknown) => {
    const property = defaults[field]!;
    if (property.required && value === '') return false;
    return property.validate ? property.validate.call(node, value, {}) : true;
  };
  const runtimeAccepts = (field: string, value: unknown) =>
    PredictionCompletedSettingsSchema.safeParse({ url: '/replicate/completed', [field]: value }).success;

  const hex = 'a'.repeat(64);
  const samples: Record<string, unknown[]> = {
    url: ['/replicate/completed', 'replicate/completed', ' /padded ', '/', '/~a.b_c-1/', '', ' ', '/a b', '/a?b', '/a:b', '/ä', '/a%20b'],
    expiry: ['', '24', 24, '0.01', '0.009', '0', '-1', '2160', '2160.01', '1e3', '1e4', ' 12 ', ' ', 'abc', 'Infinity', '0x10'],
    models: ['', 'owner/name', 'owner/name, other/model-2', `owner/name:${hex}`, hex, 'owner', 'owner/name:abc', 'a/b/c', 'a/b\nc/d'],
    correlate: [
      '',
      'topic',
      'topic, orderId',
      'msg.topic job.id',
      'payload',
      'msg.payload',
      'payload.prompt',
      'topic status',
      'webhook.id',
      'predictionId',
      'payloads',
      'bad-name',
      '__proto__.payload',
      'payload.__proto__',
    ],
  };

  for (const [field, values] of Object.entries(samples)) {
    it(`accepts for ${field} what the runtime accepts, and nothing else`, () => {
      const disagreements = values.filter((value) => (editorAnswer(field, value) === true) !== runtimeAccepts(field, value));
      should(disagreements).eql([]);
    });
  }

  it('keeps expiry within 0.01 to 2160 hours, an empty field meaning the default', () => {
    should(editorAnswer('expiry', '2161')).equal('Between 0.01 and 2160 hours');
    should(editorAnswer('expiry', '0.001')).equal('Between 0.01 and 2160 hours');
    should(editorAnswer('expiry', '')).be.true();
  });

  it('names the properties of a restore list that would overwrite the prediction', () => {
    should(editorAnswer('correlate', 'topic, msg.payload, status')).equal(
      'Cannot restore payload, status: payload, predictionId, status and webhook carry the prediction',
    );
    should(editorAnswer('correlate', 'topic, orderId')).be.true();
  });
});

describe('the address the prediction completed dialog shows', () => {
  interface Address {
    webhookAddress(publicUrl: string, nodeRoot: string, path: string): string;
    unreachableReason(address: string, apiBaseUrl?: string): string;
  }
  const address = editorResource<Address>('webhook-address.js', 'replicateWebhookAddress', { URL }); // as a browser has it

  it('is the URL the runtime gives Replicate, without the query each prediction adds', () => {
    const cases: Array<[string, string, string]> = [
      ['https://nodered.example.com', '/', '/replicate/completed'],
      ['https://nodered.example.com/', '/api', 'replicate/completed'],
      ['https://nodered.example.com/base/', '/api/', '/done/'],
      ['https://user:pa%20ss@nodered.example.com:8443/x', '', '/a/b'],
      ['http://192.168.1.20:1880', '/', '/replicate/completed'],
      ['https://nodered.example.com/?q=1#f', '/', '/p'],
    ];
    for (const [publicUrl, nodeRoot, path] of cases) {
      const runtime = new URL(webhookUrl({ publicUrl, nodeRoot, path, correlation: 'c1' }));
      runtime.search = '';
      should(address.webhookAddress(publicUrl, nodeRoot, path)).equal(runtime.toString(), publicUrl);
    }
    // no Public URL, or one the runtime refuses: no address to show
    for (const publicUrl of ['', 'nodered.example.com', 'ftp://nodered.example.com']) {
      should(address.webhookAddress(publicUrl, '/', '/p')).equal('');
      should(() => webhookUrl({ publicUrl, path: '/p', correlation: 'c' })).throw();
    }
  });

  it("warns for this machine, a private network and plain http, unless the account's API is on this machine too", () => {
    const api = 'https://api.replicate.com/v1';
    const reasons = Object.fromEntries(
      [
        'https://nodered.example.com/p',
        'https://localhost:1880/p',
        'https://127.0.0.5/p',
        'https://[::1]:1880/p',
        'https://10.1.2.3/p',
        'https://172.20.0.1/p',
        'https://172.32.0.1/p',
        'https://192.168.0.10/p',
        'https://raspberrypi.local/p',
        'https://nodered/p',
        'https://[fd00::1]/p',
        'http://nodered.example.com/p',
      ].map((url) => [url, address.unreachableReason(url, api)]),
    );
    should(reasons).eql({
      'https://nodered.example.com/p': '',
      'https://localhost:1880/p': 'private',
      'https://127.0.0.5/p': 'private',
      'https://[::1]:1880/p': 'private',
      'https://10.1.2.3/p': 'private',
      'https://172.20.0.1/p': 'private',
      'https://172.32.0.1/p': '',
      'https://192.168.0.10/p': 'private',
      'https://raspberrypi.local/p': 'private',
      'https://nodered/p': 'private',
      'https://[fd00::1]/p': 'private',
      'http://nodered.example.com/p': 'http',
    });
    // the local emulator calls what Node-RED serves on this machine
    should(address.unreachableReason('http://127.0.0.1:1880/p', 'http://127.0.0.1:4010/v1')).equal('');
    should(address.unreachableReason('http://127.0.0.1:1880/p', '')).equal('private');
  });
});
