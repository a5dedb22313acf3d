// The nodes against what Replicate really does and the polite emulator did not: predictions whose
// data is removed an hour after they end, output files that are gone, a cold model that stays
// "starting" past a sync wait, and the rate limit of an account with little credit.
import should from 'should';
import { DEFAULT_TOKEN } from '../emulator';
import { nodeRedWithEmulator, type PredictionMsg } from './support/harness';
import { helper, statusesOf } from './support/node-red';

const OFFICIAL = 'black-forest-labs/flux-schnell';

interface FilesMsg extends PredictionMsg {
  files: Array<{ url: string; filename: string; contentType: string; data: Buffer }>;
}

describe('the nodes against Replicate’s limits', function () {
  this.timeout(30_000);

  describe('removed data', () => {
    const nr = nodeRedWithEmulator({ timing: { startingMs: 10, processingMs: 50 } });

    async function finished(): Promise<{ id: string; output: string[] }> {
      const res = await fetch(`${nr.emulator.url}/models/${OFFICIAL}/predictions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json', prefer: 'wait' },
        body: JSON.stringify({ input: { prompt: 'a cat' } }),
      });
      return (await res.json()) as { id: string; output: string[] };
    }

    it('get prediction: says that Replicate removed the data of a prediction an hour after its end, in the runtime’s language', async () => {
      const { id } = await finished();
      nr.emulator.expire(id);
      let flow = await nr.load({ type: 'replicate-get-prediction', predictionId: id, predictionIdType: 'str' });
      let caught = flow.error();
      flow.send({ topic: 'job' });
      const msg = await caught;
      should(msg.error.message).equal(
        `Prediction ${id} has no input, output or logs any more: Replicate removes them about an hour after a prediction ends, so keep its files in time with Output files "downloaded, in msg.files" or a file out node`,
      );
      should(msg).match({ topic: 'job', predictionId: id, payload: { data_removed: true, output: null } });
      should(statusesOf(flow.node).at(-1)!.text).equal('data removed');

      await helper.unload();
      flow = await nr.load({ type: 'replicate-get-prediction', predictionId: id, predictionIdType: 'str' }, { lang: 'de' });
      caught = flow.error();
      flow.send({});
      should((await caught).error.message).startWith(
        `Die Vorhersage ${id} hat keine Eingabe, Ausgabe oder Logs mehr: Replicate entfernt sie`,
      );
    });

    it('a download of an output file removed meanwhile says so, instead of a bare 404', async () => {
      const { id } = await finished();
      // the download is held a moment, and the prediction's data removed while it waits
      nr.emulator.fault({ match: { method: 'GET', path: new RegExp(`^/outputs/${id}/`) }, type: 'delay', ms: 300 });
      const flow = await nr.load({ type: 'replicate-get-prediction', predictionId: id, predictionIdType: 'str', outputFiles: 'buffer' });
      const caught = flow.error();
      flow.send({});
      await waitFor(() => nr.emulator.requests.some((r) => r.path.startsWith(`/outputs/${id}/`)));
      nr.emulator.expire(id);
      should((await caught).error.message).equal(
        'The output file out-0.png is gone (HTTP 404): Replicate removes output files about an hour after a prediction ends, so keep them in time with Output files "downloaded, in msg.files" or a file out node',
      );
    });
  });

  describe('sync outputs', () => {
    const nr = nodeRedWithEmulator({ timing: { startingMs: 10, processingMs: 50 } });

    it('create in sync mode with Output files buffer downloads the files Replicate names by URL', async () => {
      const flow = await nr.load({
        type: 'replicate-create-prediction',
        model: OFFICIAL,
        input: '{}',
        wait: 'sync',
        outputFiles: 'buffer',
      });
      const out = flow.next<FilesMsg>();
      flow.send({ payload: { prompt: 'a cat' } });
      const msg = await out;
      const [url] = msg.payload.output as string[];
      should(url).equal(`${nr.emulator.origin}/outputs/${msg.predictionId}/out-0.png`);
      should(msg.files).have.length(1);
      should(msg.files[0]).match({ url, filename: 'out-0.png', contentType: 'image/png' });
      should(msg.files[0]!.data.subarray(1, 4).toString()).equal('PNG');
    });
  });

  describe('a cold start', () => {
    // Replicate's cold start takes minutes; here 1.5 s against a sync wait of 60 s scaled to 0.6 s.
    const nr = nodeRedWithEmulator({ timing: { startingMs: 10, processingMs: 50 }, coldStartMs: 1500, syncWaitScale: 0.01 });

    it('a sync create still starting when the wait runs out goes on, and get prediction polls it to the end', async () => {
      let flow = await nr.load({ type: 'replicate-create-prediction', model: OFFICIAL, input: '{}', wait: 'sync', waitSeconds: 60 });
      const created = flow.next();
      flow.send({ payload: { prompt: 'a cold cat' }, topic: 'job' });
      const first = await created;
      should(first.status).equal('starting');
      should(statusesOf(flow.node).at(-1)!.text).equal(`created ${first.predictionId.slice(0, 8)}`);
      await helper.unload();

      flow = await nr.load({ type: 'replicate-get-prediction', waitForCompletion: true, pollInterval: 0.2, maxPolls: 60 });
      const done = flow.next();
      flow.send(first);
      const msg = await done;
      should(msg).match({ status: 'succeeded', predictionId: first.predictionId, topic: 'job' });
      should(nr.emulator.requests.filter((r) => r.path === `/v1/predictions/${first.predictionId}`).length).be.above(1);
    });
  });

  describe('the rate limit of an account with little credit', () => {
    // Replicate allows such an account 6 creates a minute with a burst of 1; here 60 a minute, so the wait is a second.
    const nr = nodeRedWithEmulator({
      timing: { startingMs: 10, processingMs: 50 },
      accounts: [{ token: DEFAULT_TOKEN, username: 'emulator', lowCredit: true }],
      rateLimits: { lowCreditCreate: { perMinute: 60, burst: 1 } },
    });

    it('create waits out the 429 for as long as Replicate advises, then creates', async () => {
      const flow = await nr.load({ type: 'replicate-create-prediction', model: OFFICIAL, input: '{}', wait: 'none' });
      const first = flow.next();
      flow.send({ payload: { prompt: 'one' } });
      await first;
      const second = flow.next();
      flow.send({ payload: { prompt: 'two' } });
      should((await second).status).equal('starting');
      const creates = nr.emulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/predictions'));
      should(creates).have.length(3);
      should(creates[2]!.at - creates[1]!.at).be.aboveOrEqual(900); // retry_after: 1 (s), as the 429's body said
    });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
