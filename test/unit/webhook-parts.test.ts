import should from 'should';
import { CorrelationStore, parseFieldList, pickFields, restoreFields, type ContextLike } from '../../nodes/core/webhooks/correlation-store';
import { WebhookSecretSource } from '../../nodes/core/webhooks/secret-source';
import { maskPassword, webhookUrl } from '../../nodes/core/webhooks/url';
import { withPrediction, type Msg } from '../../nodes/flow-node';
import { entryAt } from '../support/catalogs';

/** Node-RED's global context as the memory store behaves: dotted keys reach into objects, one map per store. */
function fakeContext() {
  type Tree = Record<string, unknown>;
  const stores = new Map<string, Tree>();
  const data = (store = 'default') => stores.get(store) ?? stores.set(store, {}).get(store)!;
  const context: ContextLike = {
    get(key, store, callback) {
      callback(null, entryAt(data(store), key));
    },
    set(key, value, store, callback) {
      const parts = key.split('.');
      const parent = parts.slice(0, -1).reduce<Tree>((node, part) => (node[part] ??= {}) as Tree, data(store));
      if (value === undefined) delete parent[parts.at(-1)!];
      else parent[parts.at(-1)!] = value;
      callback(null);
    },
  };
  return { context, data };
}

describe('webhook parts', () => {
  describe('correlation store', () => {
    it('gives the kept properties back once, in the store the user chose', async () => {
      const { context, data } = fakeContext();
      const store = new CorrelationStore(context, 'file', 60_000);
      await store.remember('cabc', { topic: 'order-1' });
      should(data('default')).eql({});
      should(await store.recall('cabc')).eql({ topic: 'order-1' });
      should(await store.recall('cabc')).be.undefined();
    });

    it('lets entries expire, and sweeps away the ones never reported back', async () => {
      const { context, data } = fakeContext();
      const store = new CorrelationStore(context, undefined, 1000);
      await store.remember('cold', { topic: 'a' }, 0);
      await store.remember('warm', { topic: 'b' }, 5000);
      should(await store.recall('cold', 2000)).be.undefined();
      await store.remember('cold', { topic: 'a' }, 0);
      should(await store.sweep(2000)).equal(1);
      should(Object.keys(data().replicateCorrelations as object)).eql(['warm']);
    });

    it('keeps only the named properties, as JSON, never reaching a prototype', () => {
      should(parseFieldList('topic, msg.order.id __proto__ a.constructor.x  bad-name')).eql(['topic', 'order.id']);
      const msg = { topic: 't', order: { id: 7, note: 'x' }, when: new Date(0), req: { socket: {} as unknown } };
      (msg.req as Record<string, unknown>).self = msg.req; // a cycle, like an http request object
      should(pickFields(msg, ['topic', 'order.id', 'when', 'req', 'missing'])).eql({
        topic: 't',
        'order.id': 7,
        when: '1970-01-01T00:00:00.000Z',
      });
      const out: Record<string, unknown> = { topic: 'new' };
      restoreFields(out, { topic: 't', 'order.id': 7, '__proto__.polluted': true });
      should(out).eql({ topic: 't', order: { id: 7 } });
      should(({} as Record<string, unknown>).polluted).be.undefined();
    });
  });

  describe('webhook URL', () => {
    it('joins the public URL, httpNodeRoot and the path, with the correlation key', () => {
      const url = webhookUrl({
        publicUrl: 'https://example.com/nodered/',
        nodeRoot: '/api/',
        path: '/replicate/done',
        correlation: 'c1234567',
      });
      should(url).equal('https://example.com/nodered/api/replicate/done?correlation=c1234567');
    });

    it('carries a token derived from the shared secret, not the secret', () => {
      const url = new URL(
        webhookUrl({ publicUrl: 'https://example.com', path: '/hook', correlation: 'c1234567', sharedSecret: 'hunter2' }),
      );
      should(url.searchParams.get('token')).match(/^[\w-]{43}$/);
      should(url.toString()).not.containEql('hunter2');
    });

    it('keeps the user and password of the public URL, for httpNodeAuth', () => {
      const url = webhookUrl({
        publicUrl: 'https://hook:p%40ss@example.com/nodered?x=1',
        nodeRoot: '/api/',
        path: '/done',
        correlation: 'c1234567',
      });
      should(url).equal('https://hook:p%40ss@example.com/nodered/api/done?correlation=c1234567');
    });

    it('masks the password of a URL, and leaves a URL without one as it is', () => {
      should(maskPassword('https://hook:p%40ss@example.com/api/done?correlation=c1')).equal(
        'https://hook:***@example.com/api/done?correlation=c1',
      );
      should(maskPassword('https://hook:a@b@example.com/')).equal('https://hook:***@example.com/'); // the last @ ends the userinfo
      for (const plain of ['https://example.com/done?mail=a@b.c', 'https://hook@example.com/', 'not a URL @ all'])
        should(maskPassword(plain)).equal(plain);
    });

    it("puts the prediction itself in msg.payload, and a copy with the webhook's password masked when it has one", () => {
      const plain = { id: 'p1', status: 'succeeded' as const, webhook: 'https://example.com/done' };
      should(withPrediction({} as Msg, plain).payload).equal(plain);
      const secret = { id: 'p2', status: 'succeeded' as const, webhook: 'https://hook:p4ss@example.com/done', output: ['x'] };
      const msg = withPrediction({} as Msg, secret);
      should(msg.payload).eql({ ...secret, webhook: 'https://hook:***@example.com/done' });
      should(secret.webhook).equal('https://hook:p4ss@example.com/done'); // the original is not changed
    });

    it('says what to set when the config node has no public URL', () => {
      should(() => webhookUrl({ publicUrl: '', path: '/hook', correlation: 'c1234567' })).throw(/has no public URL: set it/);
      should(() => webhookUrl({ publicUrl: 'ftp://x', path: '/hook', correlation: 'c1234567' })).throw(/has no public URL/);
    });
  });

  describe('signing secret source', () => {
    it('fetches once, and after a mismatch again at most once per interval, sharing a fetch in progress', async () => {
      let fetches = 0;
      const source = new WebhookSecretSource(() => Promise.resolve(`whsec_${++fetches}`), undefined, 10_000);
      should(await Promise.all([source.current(), source.current()])).eql(['whsec_1', 'whsec_1']);
      const [a, b] = await Promise.all([source.refresh(100_000), source.refresh(100_000)]);
      should([a, b]).eql(['whsec_2', 'whsec_2']);
      should(await source.refresh(105_000)).be.undefined();
      should(await source.refresh(111_000)).equal('whsec_3');
      should(fetches).equal(3);
    });

    it('never fetches when the secret was typed in, and retries a failed fetch on the next delivery', async () => {
      const typed = new WebhookSecretSource(() => Promise.reject(new Error('no')), 'whsec_typed');
      should(await typed.current()).equal('whsec_typed');
      should(await typed.refresh()).be.undefined();

      let calls = 0;
      const flaky = new WebhookSecretSource(() =>
        ++calls === 1 ? Promise.reject(new Error('Replicate is down')) : Promise.resolve('whsec_ok'),
      );
      await should(flaky.current()).be.rejectedWith('Replicate is down');
      should(await flaky.current()).equal('whsec_ok');
    });
  });
});
