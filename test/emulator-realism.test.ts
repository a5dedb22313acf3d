// The emulator as hard as Replicate: its rate limits, cold starts past a sync wait, official
// models from the catalog, and outputs that show the model used its input. Spoken to with plain
// fetch, independently of the nodes' client.
import should from 'should';
import { DEFAULT_TOKEN, startEmulator, type Emulator, type EmulatorOptions } from '../emulator';

const auth = { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' };
const TIMING = { startingMs: 10, processingMs: 50 };

async function withEmulator(options: EmulatorOptions, run: (emulator: Emulator) => Promise<void>): Promise<void> {
  const emulator = await startEmulator({ timing: TIMING, ...options });
  try {
    await run(emulator);
  } finally {
    await emulator.close();
  }
}

const create = (emulator: Emulator, model: string, input: Record<string, unknown>, prefer?: string) =>
  fetch(`${emulator.url}/models/${model}/predictions`, {
    method: 'POST',
    headers: prefer ? { ...auth, prefer } : auth,
    body: JSON.stringify({ input }),
  });

describe('Replicate emulator: as hard as Replicate', () => {
  it('rate-limits creates and other requests per account, answering 429 with retry_after', () =>
    withEmulator({ rateLimits: { other: { perMinute: 60, burst: 2 }, create: { perMinute: 60, burst: 1 } } }, async (emulator) => {
      should((await fetch(`${emulator.url}/account`, { headers: auth })).status).equal(200);
      should((await fetch(`${emulator.url}/account`, { headers: auth })).status).equal(200);
      const limited = await fetch(`${emulator.url}/account`, { headers: auth });
      should(limited.status).equal(429);
      should(await limited.json()).match({ status: 429, retry_after: 1, detail: /resets in ~1s/ });
      // creates count apart from the rest
      should((await create(emulator, 'black-forest-labs/flux-schnell', { prompt: 'a' })).status).equal(201);
      should((await create(emulator, 'black-forest-labs/flux-schnell', { prompt: 'b' })).status).equal(429);
    }));

  it('limits an account with little credit to 6 creates a minute with a burst of 1, as Replicate does', () =>
    withEmulator({ rateLimits: true, accounts: [{ token: DEFAULT_TOKEN, username: 'emulator', lowCredit: true }] }, async (emulator) => {
      should((await create(emulator, 'black-forest-labs/flux-schnell', { prompt: 'a' })).status).equal(201);
      const limited = await create(emulator, 'black-forest-labs/flux-schnell', { prompt: 'b' });
      should(limited.status).equal(429);
      const body = (await limited.json()) as { retry_after: number; detail: string };
      should(body.retry_after).be.within(9, 10);
      should(body.detail).match(/reduced to 6 requests per minute with a burst of 1 requests until you have at least \$5\.00 in credit/);
      should((await fetch(`${emulator.url}/account`, { headers: auth })).status).equal(200);
    }));

  it('keeps a cold model starting past the sync wait, then runs it warm', () =>
    withEmulator({ coldStartMs: 800, syncWaitScale: 0.005 }, async (emulator) => {
      const cold = await create(emulator, 'black-forest-labs/flux-schnell', { prompt: 'a' }, 'wait=60');
      should(cold.status).equal(202);
      should(await cold.json()).match({ status: 'starting' });
      const warm = await create(emulator, 'black-forest-labs/flux-schnell', { prompt: 'b' }, 'wait=60');
      should(await warm.json()).match({ status: 'succeeded' });
    }));

  it('runs the official models of the catalog by name', () =>
    withEmulator({}, async (emulator) => {
      for (const model of ['black-forest-labs/flux-1.1-pro-ultra', 'meta/meta-llama-3.1-405b-instruct']) {
        const res = await create(emulator, model, { prompt: 'hello' });
        should(res.status).equal(201);
        should(await res.json()).match({ version: 'hidden', model });
      }
      should((await create(emulator, 'stability-ai/sdxl', { prompt: 'x' })).status).equal(404);
    }));

  it('takes is_official from a catalog entry that says so', async () => {
    const { Catalog } = await import('../emulator/catalog');
    const catalog = new Catalog([
      { owner: 'someone', name: 'official-now', is_official: true },
      { owner: 'black-forest-labs', name: 'flux-schnell', is_official: false },
      { owner: 'black-forest-labs', name: 'flux-dev' },
    ]);
    should(catalog.models.map((m) => m.is_official)).eql([true, false, true]);
  });

  it('reads no pixels from a broken PNG, and no more than it allows', async () => {
    const { decodePng, encodePng } = await import('../emulator/png');
    const good = encodePng({ width: 4, height: 4, rgba: Buffer.alloc(64, 9) });
    should(decodePng(good, 16)).match({ width: 4, height: 4 });
    should(decodePng(good, 15)).be.undefined();
    const shortHeader = Buffer.concat([good.subarray(0, 8), Buffer.from([0, 0, 0, 2]), Buffer.from('IHDR'), Buffer.alloc(6)]);
    should(decodePng(shortHeader, 100)).be.undefined();
    should(decodePng(good.subarray(0, good.length - 30), 100)).be.undefined();
  });

  it("answers a language model's prompt by quoting it", () =>
    withEmulator({}, async (emulator) => {
      const res = await create(emulator, 'meta/meta-llama-3-8b-instruct', { prompt: 'Why is the sky blue?' }, 'wait');
      const { output } = (await res.json()) as { output: string[] };
      should(output.join('')).startWith('You asked: "Why is the sky blue?". (emulated answer)');
    }));

  it('searches models and collections, within the limit the description sets', () =>
    withEmulator({}, async (emulator) => {
      const found = (await (await fetch(`${emulator.url}/search?query=official&limit=2`, { headers: auth })).json()) as {
        query: string;
        models: unknown[];
        collections: Array<{ slug: string }>;
      };
      should(found.query).equal('official');
      should(found.models.length).be.belowOrEqual(2);
      should(found.collections.map((c) => c.slug)).eql(['official']);
      for (const query of ['', 'query=flux&limit=0', 'query=flux&limit=51'])
        should((await fetch(`${emulator.url}/search?${query}`, { headers: auth })).status).equal(400);
    }));

  it('refuses a deployment with a version of another model or unknown hardware', () =>
    withEmulator({}, async (emulator) => {
      const body = {
        name: 'x',
        model: 'stability-ai/sdxl',
        version: 'f'.repeat(64),
        hardware: 'gpu-t4',
        min_instances: 0,
        max_instances: 1,
      };
      const wrongVersion = await fetch(`${emulator.url}/deployments`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
      should(wrongVersion.status).equal(422);
      should(
        (
          await fetch(`${emulator.url}/deployments/emulator/flux-schnell-prod`, {
            method: 'PATCH',
            headers: auth,
            body: '{"hardware":"abacus"}',
          })
        ).status,
      ).equal(422);
      should((await fetch(`${emulator.url}/deployments/emulator/nothing`, { method: 'DELETE', headers: auth })).status).equal(404);
    }));

  it('holds at most 100 deployments per account', () =>
    withEmulator({}, async (emulator) => {
      const version = (
        (await (await fetch(`${emulator.url}/models/stability-ai/sdxl`, { headers: auth })).json()) as { latest_version: { id: string } }
      ).latest_version.id;
      const make = (name: string) =>
        fetch(`${emulator.url}/deployments`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ name, model: 'stability-ai/sdxl', version, hardware: 'cpu', min_instances: 0, max_instances: 1 }),
        });
      for (let i = 1; i < 100; i++) should((await make(`d${i}`)).status).equal(200);
      should((await make('one-too-many')).status).equal(409);
    }));
});
