import should from 'should';
import { nodeRedWithEmulator, type ModelsMsg } from './support/harness';
import { helper } from './support/node-red';

describe('replicate-list-models', () => {
  const nr = nodeRedWithEmulator();
  const list = (props: Record<string, unknown> = {}) => nr.load({ type: 'replicate-list-models', ...props });
  const key = (m: { owner: string; name: string }) => `${m.owner}/${m.name}`;

  it('sends one page per message with the cursor of the next, and fetches the page msg.cursor names', async () => {
    const flow = await list();
    let out = flow.next<ModelsMsg>();
    flow.send({ topic: 'browse' });
    const first = await out;
    should(first.payload).be.an.Array().and.have.length(25);
    should(first.next).be.a.String();
    should(first.topic).equal('browse');
    out = flow.next<ModelsMsg>();
    flow.send({ cursor: first.next });
    const second = await out;
    should(second.payload).have.length(25);
    should(second.payload.map(key)).not.containDeep([key(first.payload[0]!)]);
    should(nr.emulator.requests[1]!.query.cursor).equal(first.next);
  });

  it('follows every page of the catalog, or stops at maxPages with the cursor to go on', async () => {
    const flow = await list({ allPages: true, maxPages: 1000 });
    let out = flow.next<ModelsMsg>(0, 60_000);
    flow.send({});
    const all = await out;
    should(all.payload.length).be.above(3800);
    should(new Set(all.payload.map(key)).size).equal(all.payload.length);
    should(all.next).be.null();
    should(all.pages).equal(Math.ceil(all.payload.length / 25));

    await helper.unload();
    const bounded = await list({ allPages: true, maxPages: 3 });
    out = bounded.next<ModelsMsg>();
    bounded.send({});
    const some = await out;
    should(some.payload).have.length(75);
    should(some.next).be.a.String();
  });

  it('searches with QUERY /models, from the node or msg.query', async () => {
    const flow = await list({ query: 'whisper' });
    let out = flow.next<ModelsMsg>();
    flow.send({});
    const found = await out;
    should(found.payload.length).be.above(0);
    should(found.payload.every((m) => /whisper/i.test(`${key(m)} ${m.description ?? ''}`))).be.true();
    const request = nr.emulator.requests[0]!;
    should(request).match({ method: 'QUERY', path: '/v1/models', body: 'whisper' });
    should(request.headers['content-type']).match(/^text\/plain/);

    await helper.unload();
    const fromMsg = await list();
    out = fromMsg.next<ModelsMsg>();
    fromMsg.send({ query: 'flux' });
    should((await out).payload.length).be.above(0);
    should(nr.emulator.requests.at(-1)).match({ method: 'QUERY', body: 'flux' });
  });

  it('passes the sort order', async () => {
    const flow = await list({ sortBy: 'model_created_at', sortDirection: 'asc' });
    const out = flow.next<ModelsMsg>();
    flow.send({});
    const page = await out;
    should(nr.emulator.requests[0]!.query).eql({ sort_by: 'model_created_at', sort_direction: 'asc' });
    const created = page.payload.map((m) => m.created_at);
    should(created).eql([...created].sort());
  });

  it('names a bad msg.cursor type', async () => {
    const flow = await list();
    const caught = flow.error();
    flow.send({ cursor: { page: 2 } });
    should((await caught).error.message).equal('msg.cursor must be a string, but it is an object');
  });
});
