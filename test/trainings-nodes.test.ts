// The other nodes know trainings: get and cancel prediction read and cancel a training named by
// msg.trainingId or given as msg.payload, and a prediction completed node receives a training's
// delivery from a create training node, with the message's properties restored and msg.version set.
import should from 'should';
import { DEFAULT_TOKEN } from '../emulator';
import { nodeRedWithEmulator, type Msg } from './support/harness';
import { configNode, helper, message, nodeModules, serveHttpNode } from './support/node-red';

const TRAINER = 'ostris/flux-dev-lora-trainer';
const ZIP = 'data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==';

interface TrainingMsg extends Msg {
  payload: { id: string; status: string; urls: Record<string, string> };
  trainingId: string;
  status: string;
  version?: string;
  weights?: string;
}

describe('trainings through the get, cancel and prediction completed nodes', function () {
  this.timeout(30_000);
  const nr = nodeRedWithEmulator({ timing: { startingMs: 50, processingMs: 400 } });
  let trainerVersion: string;
  let models = 0;

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${nr.emulator.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as T;
  };
  /** A training into a new model of the account, as Replicate created it. */
  const startTraining = async (): Promise<TrainingMsg['payload']> => {
    const name = `nodes-${++models}`;
    await api('POST', '/models', { owner: 'emulator', name, visibility: 'private', hardware: 'cpu' });
    return api('POST', `/models/${TRAINER}/versions/${trainerVersion}/trainings`, {
      destination: `emulator/${name}`,
      input: { input_images: ZIP },
    });
  };

  before(async () => {
    trainerVersion = (await api<{ latest_version: { id: string } }>('GET', `/models/${TRAINER}`)).latest_version.id;
  });

  it('cancel prediction cancels the training in msg.trainingId', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 10, processingMs: 60_000 });
    const training = await startTraining();
    const flow = await nr.load({ type: 'replicate-cancel-prediction' });
    const out = flow.next<TrainingMsg>();
    flow.send({ trainingId: training.id, topic: 'stop' });
    const msg = await out;
    should(msg).match({ trainingId: training.id, status: 'canceled', topic: 'stop', payload: { id: training.id, status: 'canceled' } });
    should(msg).not.have.property('predictionId');
    should(nr.emulator.requests.map((r) => `${r.method} ${r.path}`)).containEql(`POST /v1/trainings/${training.id}/cancel`);
  });

  it('get prediction waits for the training in msg.payload and sends msg.version', async () => {
    const training = await startTraining();
    const flow = await nr.load({ type: 'replicate-get-prediction', waitForCompletion: true, pollInterval: 0.1 });
    const out = flow.next<TrainingMsg>();
    flow.send({ payload: training });
    const msg = await out;
    should(msg.status).equal('succeeded');
    should(msg.trainingId).equal(training.id);
    should(msg.version).match(/^emulator\/nodes-\d+:[0-9a-f]{64}$/);
    should(msg.weights).startWith(nr.emulator.origin);
    should(nr.emulator.requests.filter((r) => r.path === `/v1/trainings/${training.id}`).length).be.above(0);
  });

  it('get prediction reads a prediction, not a training, when msg.predictionId names one', async () => {
    const training = await startTraining();
    const flow = await nr.load({ type: 'replicate-get-prediction' });
    const failed = flow.error();
    flow.send({ trainingId: training.id, predictionId: training.id });
    should((await failed).error.message).equal(`Replicate could not find the prediction "${training.id}" (404)`);
    should(nr.emulator.requests.map((r) => r.path)).containEql(`/v1/predictions/${training.id}`);
  });

  describe('with a create training node that names a prediction completed node', () => {
    let server: Awaited<ReturnType<typeof serveHttpNode>>;
    before(async () => {
      server = await serveHttpNode();
    });
    after(() => server.close());

    it('restores the message when the training has ended, with msg.trainingId and msg.version', async () => {
      await helper.load(
        nodeModules(),
        [
          { id: 'tab', type: 'tab' },
          configNode('cfg', nr.emulator.url, { webhookBaseUrl: server.url, z: 'tab' }),
          ...[
            {
              id: 'train',
              type: 'replicate-create-training',
              replicate: 'cfg',
              trainer: `${TRAINER}:${trainerVersion}`,
              destination: 'emulator/delivered',
              wait: 'none',
              trigger: 'completed',
              wires: [['created']],
            },
            { id: 'created', type: 'helper' },
            {
              id: 'completed',
              type: 'replicate-prediction-completed',
              replicate: 'cfg',
              url: '/replicate/trainings',
              correlate: 'topic',
              outputFiles: 'buffer',
              wires: [['done']],
            },
            { id: 'done', type: 'helper' },
          ].map((n) => ({ z: 'tab', x: 0, y: 0, ...n })),
        ],
        { cfg: { token: DEFAULT_TOKEN } },
      );
      const created = message<TrainingMsg>(helper.getNode('created'));
      const done = message<TrainingMsg>(helper.getNode('done'), 10_000);
      helper.getNode('train').receive({ payload: [Buffer.from('\x89PNG\r\n\x1a\n tiny', 'binary')], topic: 'photos-of-rex' });
      const createdMsg = await created;
      should(createdMsg.status).equal('starting');
      const msg = await done;
      should(msg).match({ trainingId: createdMsg.trainingId, status: 'succeeded', topic: 'photos-of-rex' });
      should(msg.version).startWith('emulator/delivered:');
      should(msg).not.have.property('predictionId');
      // the weights are a URL to keep, not an output file to download
      should(msg).not.have.property('files');
      const sent = nr.emulator.requests.find((r) => r.path.endsWith('/trainings') && r.method === 'POST')!;
      should(JSON.parse(sent.body)).match({
        webhook: new RegExp(`^${server.url}/replicate/trainings\\?correlation=`),
        webhook_events_filter: ['completed'],
      });
    });
  });
});
