// Where the create node puts msg.payload when it is not an object of inputs: a Buffer (core
// *read file*'s) is the model's file, a form row bound to msg.payload takes it as it is.
import should from 'should';
import { sentCreate } from './emulator-support/wire';
import { nodeRedWithEmulator } from './support/harness';
import { helper, statusesOf } from './support/node-red';

const ESRGAN = 'nightmareai/real-esrgan:f121d640bd286e1fdc67f9799164c1d5be36ff74576ee11c803ae5b665dd46aa';
const OFFICIAL = 'black-forest-labs/flux-schnell';

function png(size: number): Buffer {
  const data = Buffer.alloc(size, 7);
  data.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return data;
}

describe('replicate-create-prediction: a Buffer msg.payload and a form row bound to msg.payload', function () {
  this.timeout(30_000);
  const nr = nodeRedWithEmulator();
  const creates = () => nr.emulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/predictions'));
  const create = (props: Record<string, unknown> = {}) =>
    nr.load({ type: 'replicate-create-prediction', model: ESRGAN, input: '{}', ...props });
  const logged = () => JSON.stringify(helper.log().args);

  it("a Buffer msg.payload goes into the model's first required file input, said once on the status and in the log", async () => {
    const flow = await create({ input: '{"scale":4}' });
    const image = png(1000);
    for (let i = 0; i < 2; i++) {
      const out = flow.next();
      flow.send({ payload: image });
      const msg = await out;
      const [received] = nr.emulator.fileInputs(msg.predictionId);
      should(received).match({ field: 'image', contentType: 'image/png' });
      should(received!.bytes.equals(image)).be.true();
      should(Object.keys(sentCreate(creates().at(-1)!).input).sort()).eql(['image', 'scale']);
    }
    should(statusesOf(flow.node).filter((s) => s.text === 'file→image')).have.length(1);
    should(logged().split("msg.payload is a file: it goes into the model's input image").length - 1).equal(1);
  });

  it('takes a Uint8Array as a Buffer', async () => {
    const flow = await create();
    const out = flow.next();
    flow.send({ payload: new Uint8Array(png(500)) });
    const msg = await out;
    should(nr.emulator.fileInputs(msg.predictionId)[0]).match({ field: 'image', contentType: 'image/png' });
  });

  it('fails in one sentence, sending nothing, when the model has no file input for it', async () => {
    const flow = await create({ model: OFFICIAL });
    const caught = flow.error();
    flow.send({ payload: png(100) });
    const { error } = await caught;
    should(error.message).startWith('msg.payload is a file, but the model has no single file input to put it in');
    should(creates()).have.length(0);
    should(statusesOf(flow.node).at(-1)).match({ fill: 'red', text: 'invalid input' });
  });

  it('a form row bound to msg.payload takes a string or a number as it is, and the payload is not read as inputs', async () => {
    let flow = await create({
      model: OFFICIAL,
      validateInput: false,
      input: '{"num_outputs":1}',
      inputFields: { prompt: { type: 'msg', value: 'payload' } },
    });
    let out = flow.next();
    flow.send({ payload: 'a red fox' });
    await out;
    should(sentCreate(creates().at(-1)!).input).eql({ num_outputs: 1, prompt: 'a red fox' });
    should(statusesOf(flow.node).map((s) => s.text)).not.containEql('text→prompt');
    await helper.unload();
    // a number (an inject node's timestamp, say) is the value of its row, not a trigger that is dropped
    flow = await create({
      model: OFFICIAL,
      validateInput: false,
      input: '{"prompt":"a cat"}',
      inputFields: { seed: { type: 'msg', value: 'payload' } },
    });
    out = flow.next();
    flow.send({ payload: 42 });
    await out;
    should(sentCreate(creates().at(-1)!).input).eql({ prompt: 'a cat', seed: 42 });
    // an object goes to the row as it is (the model refuses it there), not merged over the inputs
    const caught = flow.error();
    flow.send({ payload: { prompt: 'a dog' } });
    await caught;
    should(sentCreate(creates().at(-1)!).input).eql({ prompt: 'a cat', seed: { prompt: 'a dog' } });
  });

  it('a Buffer in a form row bound to msg.payload goes to that row, not the first file input', async () => {
    const model = 'stability-ai/sdxl';
    const res = await fetch(`${nr.emulator.url}/models/${model}`, { headers: { authorization: 'Bearer r8_emulator_local_token' } });
    const version = ((await res.json()) as { latest_version: { id: string } }).latest_version.id;
    const flow = await create({
      model: `${model}:${version}`,
      input: '{"prompt":"a cat"}',
      inputFields: { mask: { type: 'msg', value: 'payload' } },
    });
    const out = flow.next();
    flow.send({ payload: png(300) });
    const msg = await out;
    should(nr.emulator.fileInputs(msg.predictionId).map((f) => f.field)).eql(['mask']);
    should(statusesOf(flow.node).map((s) => s.text)).not.containEql('file→mask');
  });
});
