import should from 'should';
import { DEFAULT_TOKEN } from '../emulator';
import { nodeRedWithEmulator } from './support/harness';
import { statusesOf } from './support/node-red';

describe('replicate-cancel-prediction', () => {
  const nr = nodeRedWithEmulator();

  async function started(): Promise<string> {
    const res = await fetch(`${nr.emulator.url}/models/black-forest-labs/flux-schnell/predictions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt: 'a cat' } }),
    });
    return ((await res.json()) as { id: string }).id;
  }

  it('cancels a running prediction and sends it on', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 50, processingMs: 10_000 });
    const id = await started();
    const flow = await nr.load({ type: 'replicate-cancel-prediction' });
    const out = flow.next();
    flow.send({ payload: { id }, topic: 'stop' });
    const msg = await out;
    should(msg).match({ predictionId: id, status: 'canceled', topic: 'stop', payload: { id, status: 'canceled' } });
    should(nr.emulator.requests.filter((r) => r.method === 'POST' && r.path === `/v1/predictions/${id}/cancel`)).have.length(1);
    should(statusesOf(flow.node).at(-1)).eql({ fill: 'grey', shape: 'dot', text: 'canceled' });
  });

  it('sends a prediction that already finished on as it is, without an error', async () => {
    const id = await started();
    await new Promise((r) => setTimeout(r, 700));
    const flow = await nr.load({ type: 'replicate-cancel-prediction', predictionId: id, predictionIdType: 'str' });
    let errors = 0;
    flow.caught.on('input', () => errors++);
    const out = flow.next();
    flow.send({});
    const msg = await out;
    should(msg.status).equal('succeeded');
    should(errors).equal(0);
  });

  it('reports an unknown prediction in words', async () => {
    const flow = await nr.load({ type: 'replicate-cancel-prediction' });
    const caught = flow.error();
    flow.send({ payload: 'nosuchprediction0000000000' });
    should((await caught).error.message).equal('Replicate could not find the prediction "nosuchprediction0000000000" (404)');
    should(statusesOf(flow.node).at(-1)!.text).equal('not found');
  });
});
