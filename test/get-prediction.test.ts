import should from 'should';
import { DEFAULT_TOKEN } from '../emulator';
import type { Prediction } from '../nodes/core';
import { nodeRedWithEmulator } from './support/harness';
import { helper, loggedBy, messages, statusesOf } from './support/node-red';

const OFFICIAL = 'black-forest-labs/flux-schnell';

describe('replicate-get-prediction', () => {
  const nr = nodeRedWithEmulator();
  const gets = (id?: string) => nr.emulator.requests.filter((r) => r.method === 'GET' && (!id || r.path.endsWith(`/predictions/${id}`)));

  /** Starts a prediction straight on the emulator, as another flow or system would have. */
  async function started(input: Record<string, unknown> = { prompt: 'a cat' }): Promise<string> {
    const res = await fetch(`${nr.emulator.url}/models/${OFFICIAL}/predictions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    });
    return ((await res.json()) as { id: string }).id;
  }

  const get = (props: Record<string, unknown> = {}, outputs = 1) => nr.load({ type: 'replicate-get-prediction', ...props }, { outputs });

  it('finds the id in the setting, msg.predictionId, msg.payload.id or msg.payload, in that order', async () => {
    const [a, b, c, d] = await Promise.all([started(), started(), started(), started()]);
    let flow = await get();
    for (const [msg, expected] of [
      [{ predictionId: b, payload: { id: c } }, b],
      [{ payload: { id: c } }, c],
      [{ payload: d }, d],
    ] as const) {
      const out = flow.next();
      flow.send(msg);
      should((await out).predictionId).equal(expected);
    }
    await helper.unload();
    flow = await get({ predictionId: a, predictionIdType: 'str' });
    let out = flow.next();
    flow.send({ predictionId: b });
    should((await out).predictionId).equal(a);
    await helper.unload();
    flow = await get({ predictionId: 'job.id', predictionIdType: 'msg' });
    out = flow.next();
    flow.send({ job: { id: c } });
    should((await out).predictionId).equal(c);
  });

  it('names a missing or malformed id without calling Replicate', async () => {
    const flow = await get();
    let caught = flow.error();
    flow.send({ payload: 12 });
    should((await caught).error.message).equal(
      'No prediction id: set one on the node, or send msg.predictionId, msg.payload.id or msg.payload as a string',
    );
    caught = flow.error();
    flow.send({ predictionId: '../account' });
    should((await caught).error.message).equal('msg.predictionId "../account" is not a valid Replicate prediction id');
    should(gets()).have.length(0);
  });

  it('without waiting, sends the current state', async () => {
    const id = await started();
    const flow = await get();
    const out = flow.next();
    flow.send({ predictionId: id, topic: 'x' });
    const msg = await out;
    should(msg).match({ predictionId: id, status: 'starting', topic: 'x', payload: { id, status: 'starting' } });
  });

  it('waits until succeeded, polling no more than the schedule allows, with progress on the status', async () => {
    const id = await started();
    const flow = await get({ waitForCompletion: true, pollInterval: 0.1, maxPolls: 60 });
    const out = flow.next();
    flow.send({ predictionId: id });
    const msg = await out;
    should(msg.status).equal('succeeded');
    should(msg.payload.output).not.be.null();
    // ~500 ms to finish at 100 ms intervals
    should(gets(id).length).be.within(3, 10);
    const texts = statusesOf(flow.node).map((s) => s.text);
    // the time waited so far while the logs report no percentage
    should(texts.some((t) => /^(starting|processing) \d+s$/.test(t!))).be.true();
    // what the logs report while it runs ("10% done", "20% done"... in the emulator)
    should(texts.some((t) => /^processing \d+%$/.test(t!))).be.true();
    const metrics = msg.payload.metrics!;
    should(statusesOf(flow.node).at(-1)).eql({
      fill: 'green',
      shape: 'dot',
      text: `succeeded in ${(metrics.predict_time as number).toFixed(1)} s`,
    });
    should(msg.metrics).equal(metrics);
  });

  it('sends a failed prediction as a result, with its error', async () => {
    nr.emulator.fault({ type: 'outcome', status: 'failed', error: 'CUDA out of memory' });
    const id = await started();
    const flow = await get({ waitForCompletion: true, pollInterval: 0.1 });
    const out = flow.next();
    flow.send({ predictionId: id });
    const msg = await out;
    should(msg).match({ status: 'failed', payload: { status: 'failed', error: 'CUDA out of memory' } });
    // a failed prediction's metrics too (the time it ran before failing)
    should(msg.metrics).be.an.Object().and.equal(msg.payload.metrics);
  });

  it('sends no msg.metrics for a prediction without them, not one left from an earlier node', async () => {
    const id = await started();
    const flow = await get();
    const out = flow.next();
    flow.send({ predictionId: id, metrics: { predict_time: 99 } });
    const msg = await out;
    should(msg.payload).not.have.property('metrics');
    should(msg).not.have.property('metrics');
  });

  it('splits outcomes across outputs: succeeded, failed, canceled or aborted (and still running without waiting)', async () => {
    nr.emulator.fault({ type: 'outcome', status: 'failed', error: 'boom' });
    const failed = await started();
    nr.emulator.fault({ type: 'outcome', status: 'canceled' });
    const canceled = await started();
    nr.emulator.fault({ type: 'outcome', status: 'aborted' });
    const aborted = await started();
    const succeeded = await started();
    const flow = await get({ waitForCompletion: true, pollInterval: 0.1, splitOutputs: true, outputs: 3 }, 3);
    const ok = messages(flow.outputs[0], 1);
    const bad = messages(flow.outputs[1]!, 1);
    const stopped = messages(flow.outputs[2]!, 2);
    for (const id of [failed, canceled, aborted, succeeded]) flow.send({ predictionId: id });
    should((await ok)[0]?.predictionId).equal(succeeded);
    should((await bad)[0]?.predictionId).equal(failed);
    should((await stopped).map((m) => m.status).sort()).eql(['aborted', 'canceled']);

    await helper.unload();
    const running = await started();
    const noWait = await get({ splitOutputs: true, outputs: 4 }, 4);
    const out = noWait.next(3);
    noWait.send({ predictionId: running });
    should((await out).status).equal('starting');
  });

  it('raises "still processing after N polls" with the latest state, and cancels first when asked', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 50, processingMs: 20_000, times: 2 });
    const [slow, slower] = [await started(), await started()];
    let flow = await get({ waitForCompletion: true, pollInterval: 0.1, maxPolls: 3 });
    let caught = flow.error();
    flow.send({ predictionId: slow });
    let msg = await caught;
    should(msg.error.message).equal(`Prediction ${slow} is still processing after 3 polls (status: processing)`);
    should(msg.payload).match({ id: slow, status: 'processing' });
    should(nr.emulator.requests.filter((r) => r.path.endsWith('/cancel'))).have.length(0);

    await helper.unload();
    flow = await get({ waitForCompletion: true, pollInterval: 0.1, maxPolls: 3, cancelOnTimeout: true });
    caught = flow.error();
    flow.send({ predictionId: slower });
    msg = await caught;
    should(msg.error.message).match(/still processing after 3 polls \(status: processing\); it has been cancelled$/);
    should((msg.payload as Prediction).status).equal('canceled');
    should(nr.emulator.prediction(slower)!.status).equal('canceled');
  });

  it('waits on hundreds of predictions at once: each sent exactly once, within the poll budget', async () => {
    const ids = await Promise.all(Array.from({ length: 300 }, () => started()));
    nr.emulator.clearRequests();
    const flow = await get({ waitForCompletion: true, pollInterval: 0.1, maxPolls: 60 });
    const all = messages(flow.outputs[0], 300, 30_000);
    for (const id of ids) flow.send({ predictionId: id });
    const got = await all;
    should(new Set(got.map((m) => m.predictionId)).size).equal(300);
    should(got.every((m) => m.status === 'succeeded')).be.true();
    const perPrediction = new Map<string, number>();
    for (const r of gets()) perPrediction.set(r.path, (perPrediction.get(r.path) ?? 0) + 1);
    should(Math.max(...perPrediction.values())).be.belowOrEqual(60);
    await new Promise((r) => setTimeout(r, 300));
    should(got).have.length(300); // nothing sent twice afterwards
  });

  it('stops polling when a redeploy deletes it, sends nothing after closing, and warns that the prediction keeps running', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 2000 });
    const id = await started();
    const flow = await get({ waitForCompletion: true, pollInterval: 0.1, maxPolls: 100 });
    let sent = 0;
    flow.outputs[0].on('input', () => sent++);
    let errors = 0;
    flow.caught.on('input', () => errors++);
    flow.send({ predictionId: id });
    await new Promise((r) => setTimeout(r, 300));
    await helper.setFlows([{ id: 'tab', type: 'tab' }]); // the node deleted
    const pollsAtClose = gets(id).length;
    await new Promise((r) => setTimeout(r, 2500));
    should(gets(id).length).be.belowOrEqual(pollsAtClose + 1); // at most the one already in flight
    should(sent).equal(0);
    should(errors).equal(0);
    should(loggedBy(flow.node, 'warn')).eql([
      `Prediction ${id} keeps running on Replicate: this node was closed (redeploy or stop) while waiting for it, so it will send no message for it. To stop it, send msg.predictionId "${id}" to a cancel prediction node.`,
    ]);
    // not cancelled: that stays the user's choice
    should(nr.emulator.requests.filter((r) => r.path.endsWith('/cancel'))).have.length(0);
    should(nr.emulator.prediction(id)!.status).equal('succeeded');
  });

  it('backs off while the model cold-boots', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 1500, processingMs: 100 });
    const id = await started();
    const flow = await get({ waitForCompletion: true, pollInterval: 0.1, maxPolls: 60, backoff: true });
    const out = flow.next();
    flow.send({ predictionId: id });
    await out;
    const times = gets(id).map((r) => r.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 100, 150, 225, 337... while starting: fewer polls than a flat 100 ms schedule (15+)
    should(times.length).be.belowOrEqual(9);
    should(gaps[2]!).be.above(gaps[0]! + 40);
  });
});
