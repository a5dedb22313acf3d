// The token goes to Replicate and nowhere else: not into a message, a status, a log line, an
// error, or what the editor and an export get back from the runtime.
import should from 'should';
import { nodeRedWithEmulator, type Loaded } from './support/harness';
import { everythingShown, helper } from './support/node-red';

const SECRET = 'r8_Secret_Token_That_Must_Never_Show_0001';

describe('secrets', () => {
  const nr = nodeRedWithEmulator({ accounts: [{ token: SECRET, username: 'agency-client' }] });
  const seen: unknown[] = [];
  const watch = (flow: Pick<Loaded, 'outputs' | 'caught'>) => {
    for (const node of [...flow.outputs, flow.caught]) node.on('input', (msg) => seen.push(msg));
  };
  const started = async () => {
    const res = await fetch(`${nr.emulator.url}/models/black-forest-labs/flux-schnell/predictions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt: 'a cat' } }),
    });
    return ((await res.json()) as { id: string }).id;
  };
  const echo = () =>
    nr.emulator.fault({ type: 'status', status: 400, body: { title: 'Bad request', detail: `you sent Authorization: Bearer ${SECRET}` } });

  it('never lets the token into messages, errors, statuses or logs of any node', async () => {
    const create = await nr.load(
      { type: 'replicate-create-prediction', model: 'black-forest-labs/flux-schnell', wait: 'complete', pollInterval: 0.1 },
      { token: SECRET },
    );
    watch(create);
    let out = create.next();
    create.send({ payload: { prompt: 'a cat' } });
    const done = await out;
    should(done.status).equal('succeeded');
    echo();
    let caught = create.error();
    create.send({ payload: { prompt: 'a cat' } });
    should((await caught).error.message).match(/\[redacted\]/);
    await helper.unload();

    for (const type of ['replicate-get-prediction', 'replicate-cancel-prediction']) {
      const flow = await nr.load({ type }, { token: SECRET });
      watch(flow);
      out = flow.next();
      flow.send({ predictionId: await started() });
      await out;
      echo();
      caught = flow.error();
      flow.send({ predictionId: await started() });
      await caught;
      await helper.unload();
    }

    // the training node: its model lookups, the destination it creates, the upload and the polls
    const train = await nr.load(
      {
        type: 'replicate-create-training',
        trainer: 'ostris/flux-dev-lora-trainer',
        destination: 'agency-client/lora',
        pollInterval: 0.1,
      },
      { token: SECRET, config: { inlineFileLimit: 1 } },
    );
    watch(train);
    out = train.next();
    train.send({ payload: [Buffer.alloc(3000, 1), Buffer.alloc(3000, 2)] });
    should((await out).status).equal('succeeded');
    echo();
    caught = train.error();
    train.send({ payload: [Buffer.alloc(10, 1)] });
    should((await caught).error.message).match(/\[redacted\]/);
    await helper.unload();

    const list = await nr.load({ type: 'replicate-list-models' }, { token: SECRET });
    watch(list);
    out = list.next();
    list.send({});
    await out;
    await helper.unload();

    // a wrong token is a secret too: the 401 sentence does not repeat it
    const rejected = await nr.load({ type: 'replicate-list-models' }, { token: `${SECRET}_typo` });
    watch(rejected);
    caught = rejected.error();
    rejected.send({});
    should((await caught).error.message).match(/^Replicate rejected the token \(401\)/);

    should(seen).have.length(10);
    should(JSON.stringify(seen)).not.containEql(SECRET);
    should(everythingShown()).not.containEql(SECRET);
  });

  it('keeps the token out of the flow file and marks both secrets as passwords, which the editor never reads back', async () => {
    await nr.load({ type: 'replicate-list-models' }, { token: SECRET });
    const deployed = JSON.stringify(helper._redNodes.getFlows());
    should(deployed).containEql('replicate-config');
    should(deployed).not.containEql(SECRET);
    should(helper.credentials.getDefinition('replicate-config')).eql({ token: { type: 'password' }, webhookSecret: { type: 'password' } });
  });
});
