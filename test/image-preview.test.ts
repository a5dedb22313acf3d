// The latest output images under a node in the editor: what the runtime publishes over RED.comms
// (resources/image-preview.js draws it). URLs where Replicate gave them, small data: URLs only,
// nothing under the API base URL, never the token; nothing for a flow saved before the setting.
import should from 'should';
import type { EventEmitter } from 'events';
import { DEFAULT_TOKEN } from '../emulator';
import { signedHeaders } from './emulator-support/wire';
import { nodeRedWithEmulator } from './support/harness';
import { helper, httpNode } from './support/node-red';

const OFFICIAL = 'black-forest-labs/flux-schnell';
const SECRET = 'whsec_' + Buffer.from('a signing key of thirty-two bytes').toString('base64');

interface Published {
  topic: string;
  data: { id: string; images: string[]; size?: number };
}

describe('image previews under the node', function () {
  this.timeout(30_000);
  const nr = nodeRedWithEmulator();
  let published: Published[] = [];
  const record = (event: Published) => {
    if (event.topic === 'replicate-preview') published.push(event);
  };
  const events = () => (helper as unknown as { _events: EventEmitter })._events;
  beforeEach(() => {
    published = [];
    events().on('comms', record);
  });
  afterEach(() => events().off('comms', record));
  const shown = () => published.filter((event) => event.data.images.length > 0);

  it('create: the output image URLs, at the size set, without the token', async () => {
    const flow = await nr.load({
      type: 'replicate-create-prediction',
      model: OFFICIAL,
      input: '{"prompt":"a cat","num_outputs":2}',
      wait: 'complete',
      pollInterval: 0.1,
      showImages: true,
      imageSize: 240,
    });
    const out = flow.next();
    flow.send({});
    const msg = await out;
    should(shown()).have.length(1);
    const { data } = shown()[0]!;
    should(data).match({ id: flow.node.id, size: 240 });
    should(data.images).eql(msg.payload.output);
    should(data.images.every((url) => /^http:\/\/127\.0\.0\.1:\d+\/outputs\/.+\.(webp|png|jpg)$/.test(url))).be.true();
    should(JSON.stringify(published)).not.containEql(DEFAULT_TOKEN);
  });

  it('shows nothing for a flow saved before the setting (off), and takes the images away when the node closes', async () => {
    const flow = await nr.load({
      type: 'replicate-create-prediction',
      model: OFFICIAL,
      input: '{"prompt":"a cat"}',
      wait: 'complete',
      pollInterval: 0.1,
    });
    const out = flow.next();
    flow.send({});
    await out;
    should(shown()).have.length(0);
    await helper.unload();
    should(published.map((event) => event.data)).containEql({ id: flow.node.id, images: [] });
  });

  it('prediction completed: replicate.delivery URLs and small data: URLs, not large ones, files under the API, other hosts or text', async () => {
    const flow = await nr.load(
      { type: 'replicate-prediction-completed', url: '/preview/done', showImages: true, imageSize: 100 },
      { webhookSecret: SECRET },
    );
    const small = `data:image/png;base64,${Buffer.alloc(600, 1).toString('base64')}`;
    const large = `data:image/png;base64,${Buffer.alloc(100 * 1024, 1).toString('base64')}`;
    let deliveries = 0;
    const deliver = async (output: unknown) => {
      const body = JSON.stringify({
        id: `p0123456789a${deliveries++}`,
        model: OFFICIAL,
        version: 'hidden',
        status: 'succeeded',
        output,
        input: {},
      });
      const out = flow.next();
      should((await httpNode().post('/preview/done').set(signedHeaders(body, SECRET)).send(body)).status).equal(200);
      await out;
    };
    await deliver(['https://replicate.delivery/xezq/abc/out-0.webp', small, large, `${nr.emulator.url}/files/abc.png`, 'a caption']);
    should(shown().map((event) => event.data.images)).eql([['https://replicate.delivery/xezq/abc/out-0.webp', small]]);
    should(shown()[0]!.data.size).equal(100);
    // a file on a host outputs are not downloaded from is not shown either
    await deliver(['https://tracker.example.com/pixel.png']);
    should(shown()).have.length(1);
  });
});
