// What a node shows while a prediction runs and once it is done: the chunks a stream has brought,
// and msg.metrics as Replicate sent them, on every node that sends a prediction.
import should from 'should';
import { signedHeaders } from './emulator-support/wire';
import { nodeRedWithEmulator, type Msg, type PredictionMsg } from './support/harness';
import { httpNode, received, statusesOf } from './support/node-red';

const LLAMA = 'meta/meta-llama-3-8b-instruct';
const SECRET = 'whsec_' + Buffer.from('a signing key of thirty-two bytes').toString('base64');

describe('progress on the status, and msg.metrics', () => {
  const nr = nodeRedWithEmulator();

  it("counts the chunks a stream has brought on the status, then shows the model's own time", async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 20, processingMs: 1500 });
    const flow = await nr.load(
      { type: 'replicate-create-prediction', model: LLAMA, input: '{}', wait: 'stream', pollInterval: 0.1 },
      { outputs: 2 },
    );
    const texts = received<Msg>(flow.outputs[0]);
    const finished = new Promise<PredictionMsg>((resolve) => flow.outputs[1]!.on('input', (out: Msg) => resolve(out as PredictionMsg)));
    flow.send({ payload: { prompt: 'hi' } });
    const final = await finished;
    const counts = statusesOf(flow.node)
      .map((s) => /^stream: (\d+) chunks$/.exec(s.text ?? '')?.[1])
      .filter(Boolean)
      .map(Number);
    should(counts.length).be.aboveOrEqual(2);
    should(counts).eql([...counts].sort((a, b) => a - b));
    should(counts.at(-1)).be.belowOrEqual(texts.length);
    should(statusesOf(flow.node).at(-1)!.text).equal(`succeeded in ${(final.payload.metrics!.predict_time as number).toFixed(1)} s`);
    should(final.metrics).eql(final.payload.metrics);
  });

  it('prediction completed: msg.metrics of a failed prediction, untouched', async () => {
    const flow = await nr.load({ type: 'replicate-prediction-completed', url: '/metrics/done' }, { webhookSecret: SECRET });
    const metrics = { predict_time: 1.25, total_time: 2.5, custom_counter: 3 };
    const body = JSON.stringify({
      id: 'p0123456789ab',
      model: LLAMA,
      version: 'hidden',
      status: 'failed',
      error: 'boom',
      input: {},
      metrics,
    });
    const out = flow.next();
    const res = await httpNode().post('/metrics/done').set(signedHeaders(body, SECRET)).send(body);
    should(res.status).equal(200);
    const msg = await out;
    should(msg.metrics).eql(metrics);
    should(msg.payload.metrics).eql(metrics);
  });
});
