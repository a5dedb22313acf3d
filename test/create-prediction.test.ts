import type { EventEmitter } from 'events';
import should from 'should';
import { DEFAULT_TOKEN } from '../emulator';
import type { Prediction } from '../nodes/core';
import { sentCreate } from './emulator-support/wire';
import { nodeRedWithEmulator, type CaughtMsg } from './support/harness';
import { configNode, helper, loggedBy, message, messages, nodeModules, statusesOf } from './support/node-red';

const OFFICIAL = 'black-forest-labs/flux-schnell';

describe('replicate-create-prediction', () => {
  const nr = nodeRedWithEmulator();
  const creates = () => nr.emulator.requests.filter((r) => r.method === 'POST');
  let version: string;

  before(async () => {
    // the catalog's version of the official model, as the list would give it
    const res = await fetch(`${nr.emulator.url}/models/${OFFICIAL}`, { headers: { authorization: 'Bearer r8_emulator_local_token' } });
    version = ((await res.json()) as { latest_version: { id: string } }).latest_version.id;
  });

  const create = (props: Record<string, unknown> = {}, options = {}) =>
    nr.load({ type: 'replicate-create-prediction', model: OFFICIAL, input: '{"prompt":"a cat"}', ...props }, options);

  it('runs an official model by name and sends the prediction on, untouched, with the msg around it', async () => {
    const flow = await create();
    const out = flow.next();
    flow.send({ payload: { prompt: 'a dog' }, topic: 'pets', correlationId: 'job-7' });
    const msg = await out;
    const [request] = creates();
    should(request!.path).equal(`/v1/models/${OFFICIAL}/predictions`);
    should(JSON.parse(request!.body)).eql({ input: { prompt: 'a dog' } });
    should(msg.payload.status).equal('starting');
    should(msg.payload.urls?.get).endWith(`/predictions/${msg.payload.id}`);
    should(msg).match({ predictionId: msg.payload.id, status: 'starting', topic: 'pets', correlationId: 'job-7' });
    // sent on as created: the status says so, with the start of the id, not a `starting` that never changes
    should(statusesOf(flow.node).at(-1)).eql({ fill: 'blue', shape: 'dot', text: `created ${msg.payload.id.slice(0, 8)}` });
    // exactly the object Replicate returned: every field, none added
    const known = nr.emulator.prediction(msg.payload.id)!;
    should(Object.keys(msg.payload).sort()).eql(Object.keys(known).sort());
  });

  it('runs a version given as owner/name:id or as a bare id', async () => {
    for (const [i, model] of [`${OFFICIAL}:${version}`, version].entries()) {
      if (i > 0) await helper.unload();
      const flow = await create({ model });
      const out = flow.next();
      flow.send({ payload: {} });
      await out;
      const request = creates().at(-1)!;
      should(request.path).equal('/v1/predictions');
      should(JSON.parse(request.body)).eql({ version, input: { prompt: 'a cat' } });
      nr.emulator.clearRequests();
    }
  });

  it('runs a deployment when one is set, and takes msg.model or msg.deployment when the node leaves both empty', async () => {
    let flow = await create({ model: OFFICIAL, deployment: 'emulator/flux-schnell-prod' });
    let out = flow.next();
    flow.send({});
    should((await out).payload.deployment).equal('emulator/flux-schnell-prod');
    should(creates().at(-1)!.path).equal('/v1/deployments/emulator/flux-schnell-prod/predictions');

    await helper.unload();
    flow = await create({ model: '' });
    out = flow.next();
    flow.send({ model: version });
    await out;
    should(creates().at(-1)!.path).equal('/v1/predictions');
    out = flow.next();
    flow.send({ deployment: 'emulator/flux-schnell-prod' });
    await out;
    should(creates().at(-1)!.path).equal('/v1/deployments/emulator/flux-schnell-prod/predictions');
  });

  it('merges msg.payload over the default input', async () => {
    const flow = await create({ input: '{"prompt":"default","num_outputs":1,"seed":5}' });
    const out = flow.next();
    flow.send({ payload: { prompt: 'override', seed: 9 } });
    await out;
    should(sentCreate(creates()[0]!).input).eql({ prompt: 'override', num_outputs: 1, seed: 9 });
  });

  it('refuses a payload that is neither an object nor text, naming the field, before sending anything', async () => {
    const flow = await create();
    for (const payload of [[1, 2], ['a cat']]) {
      const caught = flow.error();
      flow.send({ payload });
      const msg = await caught;
      should(msg.error.message).equal(
        'msg.payload must be an object of model inputs, such as {"prompt": "a cat"}, or the prompt as text, but it is an array',
      );
    }
    should(creates()).have.length(0);
    should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'invalid input' });
  });

  it("runs the default input as it is for a number or true/false payload, as an inject node's timestamp", async () => {
    const flow = await create({ input: '{"prompt":"default"}' });
    for (const payload of [Date.now(), true]) {
      const out = flow.next();
      flow.send({ payload });
      await out;
    }
    should(creates().map((r) => sentCreate(r).input)).eql([{ prompt: 'default' }, { prompt: 'default' }]);
  });

  it('names the missing model', async () => {
    const flow = await create({ model: '' });
    const caught = flow.error();
    flow.send({ payload: {} });
    should((await caught).error.message).equal('No model: set a model or deployment on the node, or send msg.model');
  });

  it('passes the webhook and its events; a fixed Webhook URL wins over msg.webhook, with one warning naming it', async () => {
    const flow = await create({ webhook: 'https://hooks.example.com/a', webhookEvents: ['start', 'completed'] });
    for (const webhook of [undefined, 'https://attacker.example.com/b', 'https://attacker.example.com/c']) {
      const out = flow.next();
      flow.send({ webhook });
      await out;
    }
    should(creates().map((r) => JSON.parse(r.body) as Record<string, unknown>)).matchEach({
      webhook: 'https://hooks.example.com/a',
      webhook_events_filter: ['start', 'completed'],
    });
    should(loggedBy(flow.node, 'warn')).eql([
      'msg.webhook is ignored: "Webhook URL" (a fixed URL) on this node decides where Replicate reports its predictions, and a msg property fills in only what the node leaves open (an empty "Webhook URL", or one set to msg.webhook).',
    ]);
  });

  it('takes msg.webhook when the webhook setting is empty (a flow saved without its type) or reads msg.webhook', async () => {
    for (const props of [{ webhook: '' }, { webhook: 'webhook', webhookType: 'msg' }]) {
      const flow = await create(props);
      const out = flow.next();
      flow.send({ webhook: 'https://hooks.example.com/b' });
      await out;
      should(sentCreate(creates().at(-1)!).webhook).equal('https://hooks.example.com/b');
      const caught = flow.error();
      flow.send({ webhook: 'ftp://nope' });
      should((await caught).error.message).match(/^msg\.webhook must be an http\(s\) URL/);
      should(loggedBy(flow.node, 'warn')).eql([]);
      await helper.unload();
    }
  });

  it('ignores msg.webhook when the webhook setting reads another source, and says which', async () => {
    const flow = await create({ webhook: 'hook', webhookType: 'flow', webhookEvents: ['completed'] });
    flow.node.context().flow.set('hook', 'https://hooks.example.com/flow');
    const out = flow.next();
    flow.send({ webhook: 'https://attacker.example.com/b' });
    await out;
    should(sentCreate(creates()[0]!).webhook).equal('https://hooks.example.com/flow');
    should(loggedBy(flow.node, 'warn')).have.length(1);
    should(loggedBy(flow.node, 'warn')[0]).startWith('msg.webhook is ignored: "Webhook URL" (flow.hook) on this node decides');
  });

  it('waits in sync mode with Prefer: wait and sends the finished prediction', async () => {
    const flow = await create({ wait: 'sync', waitSeconds: 10 });
    const out = flow.next();
    flow.send({});
    const msg = await out;
    should(creates()[0]!.headers.prefer).equal('wait=10');
    should(msg.status).equal('succeeded');
    should(msg.payload.output).not.be.null();
  });

  it("polls to completion in complete mode, showing progress: the time waited, then the percentage the logs report, then the model's own time", async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 300, processingMs: 1500 });
    const flow = await create({ wait: 'complete', pollInterval: 0.1, maxPolls: 50 });
    const out = flow.next();
    flow.send({});
    const msg = await out;
    should(msg.status).equal('succeeded');
    const texts = statusesOf(flow.node).map((s) => s.text);
    should(texts[0]).equal('creating');
    should(texts.some((t) => /^starting \d+s$/.test(t!))).be.true();
    // the emulator logs "10% done", "20% done"...: the status follows the last one
    const percents = texts
      .map((t) => /^processing (\d+)%$/.exec(t!)?.[1])
      .filter(Boolean)
      .map(Number);
    should(percents.length).be.aboveOrEqual(3);
    should(percents).eql([...percents].sort((a, b) => a - b));
    should(percents.every((p) => p % 10 === 0 && p <= 100)).be.true();
    // metrics.predict_time, as Replicate measured it: about the 1.5 s processing took
    const predictTime = msg.payload.metrics!.predict_time as number;
    should(predictTime).be.within(1.2, 3);
    should(texts.at(-1)).equal(`succeeded in ${predictTime.toFixed(1)} s`);
    should(statusesOf(flow.node).at(-1)!.fill).equal('green');
    // msg.metrics: Replicate's metrics untouched
    should(msg.metrics).eql(msg.payload.metrics);
    should(nr.emulator.requests.filter((r) => r.method === 'GET').length).be.within(1, 50);
  });

  it('raises a catchable "still processing" error when polls run out, cancelling first if asked', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 10_000 });
    const flow = await create({ wait: 'complete', pollInterval: 0.1, maxPolls: 4, cancelOnTimeout: true });
    const caught = flow.error();
    flow.send({ topic: 't' });
    const msg = await caught;
    should(msg.error.message).match(
      /^Prediction \w+ is still processing after 4 polls \(status: (starting|processing)\); it has been cancelled$/,
    );
    should((msg.payload as Prediction).status).equal('canceled');
    should(msg.topic).equal('t');
    should(nr.emulator.requests.filter((r) => r.path.endsWith('/cancel'))).have.length(1);
  });

  it('sets Cancel-After from the node', async () => {
    const flow = await create({ cancelAfter: '5m' });
    const out = flow.next();
    flow.send({});
    await out;
    should(creates()[0]!.headers['cancel-after']).equal('5m');
  });

  it("passes Replicate's explanation to a Catch node and calls done() on success", async () => {
    const flow = await create({ input: '{}', validateInput: false });
    const caught = flow.error();
    flow.send({ payload: {} });
    should((await caught).error.message).match(/^Input validation failed: .*prompt.* is required/);
    should(statusesOf(flow.node).at(-1)!.text).equal('invalid input');

    const done = new Promise((resolve) => flow.completed.on('input', resolve));
    flow.send({ payload: { prompt: 'fine' } });
    await done;
  });

  it('refuses invalid settings at deploy and on each message', async () => {
    const flow = await create({ input: '[1,2]', wait: 'later' });
    should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'invalid settings' });
    const caught = flow.error();
    flow.send({});
    should((await caught).error.message).match(
      /^Settings: Default input must be a JSON object.*; Wait must be none, sync, complete or stream$/,
    );
  });

  describe('a community model named without a version', () => {
    const COMMUNITY = 'nightmareai/real-esrgan';
    const INPUT = '{"image":"https://replicate.delivery/pbxt/photo.png"}';
    const latestOf = async (model: string) => {
      const res = await fetch(`${nr.emulator.url}/models/${model}`, { headers: { authorization: `Bearer ${DEFAULT_TOKEN}` } });
      return ((await res.json()) as { latest_version: { id: string } }).latest_version.id;
    };
    /** Every prediction the emulator holds, by the list endpoint. */
    const predictionCount = async () => {
      const res = await fetch(`${nr.emulator.url}/predictions`, { headers: { authorization: `Bearer ${DEFAULT_TOKEN}` } });
      return ((await res.json()) as { results: unknown[] }).results.length;
    };

    it('runs its latest version after Replicate refuses the name with 404, then goes straight to that version; one prediction per message', async () => {
      const latest = await latestOf(COMMUNITY);
      // as Replicate does: a model that is not official cannot be run by name
      const byName = await fetch(`${nr.emulator.url}/models/${COMMUNITY}/predictions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: JSON.parse(INPUT) as unknown }),
      });
      should(byName.status).equal(404);
      nr.emulator.clearRequests();
      const before = await predictionCount();

      const flow = await create({ model: COMMUNITY, input: INPUT, wait: 'complete', pollInterval: 0.1 });
      for (const round of [1, 2]) {
        const out = flow.next();
        flow.send({ payload: {} });
        const msg = await out;
        should(msg.payload.version).equal(latest);
        should(msg.status).equal('succeeded');
        const posts = creates().map((r) => r.path);
        should(posts).eql(
          round === 1
            ? [`/v1/models/${COMMUNITY}/predictions`, '/v1/predictions']
            : [`/v1/models/${COMMUNITY}/predictions`, '/v1/predictions', '/v1/predictions'],
        );
        should(sentCreate(creates().at(-1)!)).match({ version: latest });
      }
      should(await predictionCount()).equal(before + 2);
      // asked once for the latest version, beside the schema lookup the input check made
      const modelReads = nr.emulator.requests.filter((r) => r.method === 'GET' && r.path === `/v1/models/${COMMUNITY}`);
      should(modelReads).have.length(2);
      const said = statusesOf(flow.node).filter((s) => s.text?.startsWith('latest ver.'));
      should(said).eql([{ fill: 'blue', shape: 'ring', text: `latest ver. ${latest.slice(0, 8)}` }]);
      should(JSON.stringify(helper.log().args)).containEql(
        `${COMMUNITY} is a community model, which Replicate runs only by version: this node runs its latest version, ${latest}`,
      );
    });

    it('says when the model does not exist, or exists without a version, and creates nothing', async () => {
      const before = await predictionCount();
      let flow = await create({ model: 'nobody-here/no-such-model', input: '{}', validateInput: false });
      let caught = flow.error();
      flow.send({ payload: {} });
      should((await caught).error.message).equal('Replicate could not find the model nobody-here/no-such-model (404)');
      await helper.unload();

      // a model just made on Replicate, with no version pushed yet
      nr.emulator.fault({
        match: { method: 'GET', path: '/models/someone/empty-model' },
        type: 'status',
        status: 200,
        body: { owner: 'someone', name: 'empty-model', description: null, visibility: 'public', latest_version: null },
      });
      flow = await create({ model: 'someone/empty-model', input: '{}', validateInput: false });
      caught = flow.error();
      flow.send({ payload: {} });
      should((await caught).error.message).equal(
        'The model someone/empty-model has no version yet, so it cannot run: Replicate runs a community model by one of its versions, and its owner has not pushed one',
      );
      should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'not found' });
      should(creates().map((r) => r.path)).eql([
        '/v1/models/nobody-here/no-such-model/predictions',
        '/v1/models/someone/empty-model/predictions',
      ]);
      should(await predictionCount()).equal(before);
    });

    it('never creates a second prediction when the create by name may have reached Replicate', async () => {
      // a 500 after the create by name: Replicate may have made a prediction, so nothing else may be created for the message
      nr.emulator.fault({ match: { method: 'POST', path: `/models/${COMMUNITY}/predictions` }, type: 'status', status: 500 });
      const before = await predictionCount();
      const flow = await create({ model: COMMUNITY, input: INPUT, validateInput: false });
      const caught = flow.error();
      flow.send({ payload: {} });
      should((await caught).error.message).match(/^Replicate may have created the prediction|500/);
      should(creates()).have.length(1);
      should(await predictionCount()).equal(before);
      should(nr.emulator.requests.filter((r) => r.method === 'GET' && r.path === `/v1/models/${COMMUNITY}`)).have.length(0);
    });
  });

  describe("checking the input against the model's schema", () => {
    const schemaReads = () => nr.emulator.requests.filter((r) => r.method === 'GET');

    it('names every field that does not fit, before anything is sent', async () => {
      const flow = await create({ input: '{}' });
      const caught = flow.error();
      flow.send({ payload: { num_outputs: 9, aspect_ratio: '5:7', go_fast: 'maybe' } });
      const message = (await caught).error.message;
      should(message).startWith('The input does not fit black-forest-labs/flux-schnell: ');
      should(message).containEql('input "prompt" is required');
      should(message).containEql('input "num_outputs" must be at most 4 (got 9)');
      should(message).containEql('input "aspect_ratio" must be one of "1:1", "16:9"');
      should(message).containEql('input "go_fast" must be true or false (got "maybe")');
      should(creates()).have.length(0);
      should(statusesOf(flow.node).at(-1)!.text).equal('invalid input');
    });

    it('makes the obvious coercions and reads the schema once for many messages', async () => {
      const flow = await create({ input: '{"prompt": "a cat"}' });
      const out = messages(flow.outputs[0], 3);
      for (let i = 0; i < 3; i++) flow.send({ payload: { num_outputs: '2', go_fast: 'false', seed: '42' } });
      await out;
      for (const request of creates()) {
        should(sentCreate(request).input).eql({ prompt: 'a cat', num_outputs: 2, go_fast: false, seed: 42 });
      }
      should(schemaReads().map((r) => r.path)).eql([`/v1/models/${OFFICIAL}`]);
    });

    it('checks a version and a deployment against the schema of what they run', async () => {
      for (const props of [{ model: `${OFFICIAL}:${version}` }, { model: '', deployment: 'emulator/flux-schnell-prod' }]) {
        const flow = await create({ input: '{}', ...props });
        const caught = flow.error();
        flow.send({ payload: { num_outputs: 0 } });
        should((await caught).error.message).match(/input "prompt" is required; input "num_outputs" must be at least 1 \(got 0\)/);
        await helper.unload();
      }
      should(creates()).have.length(0);
    });

    it('keeps a schema lookup shared by two nodes going when one of them is redeployed mid-lookup', async () => {
      nr.emulator.fault({ match: { method: 'GET', path: `/models/${OFFICIAL}` }, type: 'delay', ms: 500 });
      const node = (id: string, name: string) => ({
        id,
        z: 'tab',
        x: 100,
        y: 100,
        type: 'replicate-create-prediction',
        name,
        replicate: 'cfg',
        model: OFFICIAL,
        input: '{"prompt":"a cat"}',
        wires: [[`${id}-out`]],
      });
      await helper.load(
        nodeModules(),
        [
          { id: 'tab', type: 'tab' },
          configNode('cfg', nr.emulator.url),
          node('a', 'before'),
          node('b', 'stays'),
          ...['a-out', 'b-out'].map((id) => ({ id, z: 'tab', x: 100, y: 100, type: 'helper' })),
        ],
        { cfg: { token: DEFAULT_TOKEN } },
      );
      const b = helper.getNode('b');
      // b's message ends in its output or in an error (before the fix: "stopped because the node was closed")
      const outcome = Promise.race([
        messages(helper.getNode('b-out')).then(([msg]) => msg),
        new Promise((_, reject) => (b as unknown as EventEmitter).on('call:error', (call: { args: [Error] }) => reject(call.args[0]))),
      ]);
      outcome.catch(() => undefined); // awaited below, after the redeploy
      helper.getNode('a').receive({ payload: {} });
      b.receive({ payload: {} }); // joins the lookup a started
      while (schemaReads().length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

      // a "modified nodes" deploy of a alone: a closes while the lookup is under way
      const flows = helper._redNodes.getFlows().flows;
      const restarted = new Promise((resolve) => helper._events.once('flows:started', resolve));
      await helper._redNodes.setFlows(
        flows.map((n) => (n.id === 'a' ? { ...n, name: 'after' } : n)),
        null,
        'nodes',
      );
      await restarted;
      should(helper.getNode('b')).equal(b);

      const msg = (await outcome) as { status: string };
      should(msg.status).equal('starting');
      should(schemaReads()).have.length(1);
      should(creates().map((r) => sentCreate(r).input)).eql([{ prompt: 'a cat' }]); // a's message went with a
    });

    it('sends the input unchecked when Replicate cannot answer the schema lookup now', async () => {
      const flow = await create({ input: '{"prompt": "a cat"}' }, { config: { maxRetries: 0 } });
      nr.emulator.fault({ match: { method: 'GET' }, type: 'status', status: 503 });
      const out = flow.next();
      flow.send({ payload: { num_outputs: 2 } });
      should((await out).status).equal('starting');
      should(schemaReads()).have.length(1); // the one lookup, answered 503
      should(sentCreate(creates()[0]!).input).eql({ prompt: 'a cat', num_outputs: 2 });
    });

    it('names an input the model does not have, with the nearest one it has, or a few it has (Replicate would ignore it)', async () => {
      const flow = await create({ model: 'stability-ai/sdxl', input: '{}' });
      let caught = flow.error();
      flow.send({ payload: { prompt: 'a cat', negative_promt: 'blurry' } });
      should((await caught).error.message).equal(
        'The input does not fit stability-ai/sdxl: input "negative_promt" is not an input of stability-ai/sdxl; did you mean "negative_prompt"? Turn off "Check the input" to send it anyway.',
      );
      should(statusesOf(flow.node).at(-1)!.text).equal('invalid input');
      caught = flow.error();
      flow.send({ payload: { prompt: 'a cat', colour: 'red' } });
      should((await caught).error.message).match(
        /^The input does not fit stability-ai\/sdxl: input "colour" is not an input of stability-ai\/sdxl; its inputs are ("\w+", ){4}"\w+" and \d+ more\. Turn off/,
      );
      should(creates()).have.length(0);
    });

    it('takes the output of a prediction-completed node as input: its msg.webhook record is not a URL', async () => {
      const flow = await create({ input: '{"prompt": "a cat"}' });
      const out = flow.next();
      flow.send({ payload: {}, webhook: { id: 'msg_1', timestamp: 1795430000 } });
      await out;
      should(JSON.parse(creates()[0]!.body)).not.have.property('webhook');
    });

    it('sends the input as it is when the check is off', async () => {
      const flow = await create({ input: '{}', validateInput: false });
      const caught = flow.error();
      flow.send({ payload: { num_outputs: '9' } });
      should((await caught).error.message).match(/^Input validation failed/); // Replicate's own answer
      should(sentCreate(creates()[0]!).input).eql({ num_outputs: '9' });
      should(schemaReads()).have.length(0);
    });
  });

  describe('webhook events', () => {
    it('says what an empty list from an old flow meant: every event for a typed URL', async () => {
      for (const webhookEvents of [[], '']) {
        const flow = await create({ webhook: 'https://hooks.example.com/a', webhookEvents });
        const out = flow.next();
        flow.send({});
        await out;
        should(sentCreate(creates().at(-1)!).webhook_events_filter).eql(['start', 'output', 'logs', 'completed']);
        await helper.unload();
      }
    });

    it('refuses at deploy a prediction completed node as webhook without the completed event, on which it continues the flow', async () => {
      const flow = await create({ trigger: 'somewhere', webhookEvents: ['start', 'output'] });
      should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'invalid settings' });
      should(loggedBy(flow.node, 'error')).eql([
        'Settings: Webhook events must include completed when a "prediction completed" node is the webhook: it continues the flow on that event',
      ]);
      const caught = flow.error();
      flow.send({});
      should((await caught).error.message).startWith('Settings: Webhook events must include completed');
      should(creates()).have.length(0);
    });
  });

  describe('with a "prediction completed" node as its webhook', () => {
    const PUBLIC = { webhookBaseUrl: 'https://nodered.example.com' };
    /** The create node and its prediction completed node in either order: nodes are created one by one, in flow order. */
    async function withCompletedNode(props: Record<string, unknown>, { completedFirst = false, credentials = {} } = {}) {
      // `trigger` is the create node's flow property for its prediction completed node
      const create = {
        id: 'create',
        type: 'replicate-create-prediction',
        replicate: 'cfg',
        model: OFFICIAL,
        input: '{"prompt":"a cat"}',
        trigger: 'completed',
        webhookEvents: ['completed'],
        wires: [['created']],
      };
      const completedNode = {
        id: 'completed',
        type: 'replicate-prediction-completed',
        url: '/replicate/create-test',
        wires: [[]],
        ...props,
      };
      await helper.load(
        nodeModules(),
        [
          { id: 'tab', type: 'tab' },
          configNode('cfg', nr.emulator.url, PUBLIC),
          configNode('other', nr.emulator.url, PUBLIC),
          ...[
            ...(completedFirst ? [completedNode, create] : [create, completedNode]),
            { id: 'created', type: 'helper' },
            { id: 'catch', type: 'catch', scope: ['create'], uncaught: false, wires: [['caught']] },
            { id: 'caught', type: 'helper' },
          ].map((n) => ({ z: 'tab', x: 100, y: 100, ...n })),
        ],
        { cfg: { token: DEFAULT_TOKEN }, other: { token: DEFAULT_TOKEN }, ...credentials },
      );
      return helper.getNode('create');
    }
    const SHARED = { completed: { sharedSecret: 'a shared secret' } };

    it('refuses at deploy a prediction completed node in shared-secret mode without a config node, defined before or after it', async () => {
      const events = helper._events;
      const listeners = events.listenerCount('flows:started');
      for (const completedFirst of [false, true]) {
        const node = await withCompletedNode({ auth: 'secret', replicate: '' }, { completedFirst, credentials: SHARED });
        should(statusesOf(node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'completed: no config' });
        const sentence =
          'The "prediction completed" node "completed" chosen as webhook has no Replicate account, and the webhook URL needs that account\'s Public URL: choose "config cfg" on it';
        should(loggedBy(node, 'error')).eql([sentence]);
        const caught = message<CaughtMsg>(helper.getNode('caught'));
        node.receive({ payload: {} });
        should((await caught).error.message).equal(sentence);
        should(creates()).have.length(0);
        await helper.unload();
        should(events.listenerCount('flows:started')).equal(listeners); // the deploy check is gone with its node
      }
    });

    it('refuses at deploy a prediction completed node that is not deployed, and a msg.webhook does not get around it', async () => {
      const flow = await create({ trigger: 'deleted-completed-node' });
      const sentence = 'The "prediction completed" node chosen as webhook is not deployed: choose another one or deploy it';
      should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'no completed node' });
      should(loggedBy(flow.node, 'error')).eql([sentence]);
      for (const webhook of [undefined, 'https://hooks.example.com/a']) {
        const caught = flow.error();
        flow.send({ webhook });
        should((await caught).error.message).equal(sentence);
      }
      should(creates()).have.length(0);
    });

    it('reports to its prediction completed node whatever msg.webhook says, warning once that "Webhook to" decides', async () => {
      const node = await withCompletedNode({ replicate: 'cfg' });
      const created = helper.getNode('created');
      for (const webhook of ['https://attacker.example.com/a', 'https://attacker.example.com/b', { id: 'msg_1', timestamp: 1 }]) {
        const out = message(created);
        node.receive({ payload: {}, webhook });
        await out;
      }
      const sent = creates().map((r) => sentCreate(r).webhook);
      should(sent).have.length(3);
      for (const url of sent) should(url).startWith('https://nodered.example.com/replicate/create-test?correlation=');
      should(loggedBy(node, 'warn')).eql([
        'msg.webhook is ignored: "Webhook to" (a prediction completed node) on this node decides where Replicate reports its predictions, and a msg property fills in only what the node leaves open (an empty "Webhook URL", or one set to msg.webhook).',
      ]);
    });

    it('warns at deploy when the prediction completed node checks signatures with another config node, not when it checks a shared secret', async () => {
      let node = await withCompletedNode({ replicate: 'other' });
      should(statusesOf(node).at(-1)).eql({ fill: 'yellow', shape: 'ring', text: 'completed: other cfg' });
      const [warning] = loggedBy(node, 'warn');
      should(warning).startWith(
        'The "prediction completed" node "completed" this node reports to uses the Replicate account "config other", this node uses "config cfg"',
      );
      should(loggedBy(node, 'error')).eql([]);
      await helper.unload();

      node = await withCompletedNode({ replicate: 'other', auth: 'secret' }, { credentials: SHARED });
      should(loggedBy(node, 'warn')).eql([]);
      should(statusesOf(node)).eql([]);
    });
  });

  it('warns when a redeploy deletes it, once per prediction it waits on, that it keeps running on Replicate, and sends nothing after', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 10_000, times: 2 });
    const flow = await create({ wait: 'complete', pollInterval: 0.1, maxPolls: 100 });
    let sent = 0;
    flow.outputs[0].on('input', () => sent++);
    let errors = 0;
    flow.caught.on('input', () => errors++);
    flow.send({});
    flow.send({});
    await new Promise((r) => setTimeout(r, 400));
    const polls = nr.emulator.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/predictions/'));
    const ids = [...new Set(polls.map((r) => r.path.split('/').at(-1)!))];
    should(ids).have.length(2);
    await helper.setFlows([{ id: 'tab', type: 'tab' }]); // the node deleted
    const warnings = loggedBy(flow.node, 'warn');
    should(warnings).have.length(2);
    for (const id of ids) {
      should(warnings).containEql(
        `Prediction ${id} keeps running on Replicate: this node was closed (redeploy or stop) while waiting for it, so it will send no message for it. To stop it, send msg.predictionId "${id}" to a cancel prediction node.`,
      );
      should(nr.emulator.prediction(id)!.status).equal('processing'); // not cancelled: that stays the user's choice
    }
    await new Promise((r) => setTimeout(r, 300));
    should(sent).equal(0);
    should(errors).equal(0);
  });

  describe('a config node that cannot work shows why, at deploy and on each message', () => {
    for (const [what, props, options, status, message] of [
      ['no config node', { replicate: '' }, {}, 'no account', /^No Replicate account is selected/],
      ['no token', {}, { token: '' }, 'no API token', /^No Replicate API token/],
      [
        'a base URL it cannot use',
        {},
        { config: { baseUrl: 'http://replicate.example.com/v1' } },
        'bad API base URL',
        /^Replicate account: API base URL must start with https:\/\//,
      ],
    ] as const) {
      it(what, async () => {
        const flow = await create(props, options);
        should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: status });
        const caught = flow.error();
        flow.send({});
        should((await caught).error.message).match(message);
        should(statusesOf(flow.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: status });
        should(nr.emulator.requests).have.length(0);
      });
    }
  });
});
