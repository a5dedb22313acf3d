// With Node-RED's language set to German (settings.lang), what the nodes say at run time is
// German: errors in msg.error and the Catch node, log lines, warnings, the prediction completed node's answers to
// the sender and the edit dialogs' answers, sentences made of sentences included. The values in
// them (ids, names, Replicate's own words) stay as they are, and the error keeps its fields.
import should from 'should';
import { DEFAULT_TOKEN } from '../emulator';
import { nodeRedWithEmulator } from './support/harness';
import { configNode, helper, httpNode, loggedBy, nodeModules, statusesOf } from './support/node-red';

const OFFICIAL = 'black-forest-labs/flux-schnell';
const de = { lang: 'de' };

describe("runtime sentences in the runtime's language (German)", () => {
  const nr = nodeRedWithEmulator();
  const create = (props: Record<string, unknown> = {}, options: Parameters<typeof nr.load>[1] = {}) =>
    nr.load({ type: 'replicate-create-prediction', model: OFFICIAL, input: '{"prompt":"a cat"}', ...props }, { ...de, ...options });

  it('says why a message failed in German, to the Catch node and on the status', async () => {
    const get = await nr.load({ type: 'replicate-get-prediction' }, de);
    const caught = get.error();
    get.send({});
    should((await caught).error.message).equal(
      'Keine Vorhersage-ID: Eine im Node angeben oder msg.predictionId, msg.payload.id oder msg.payload als String senden',
    );
    should(statusesOf(get.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'ungültige Eingabe' });

    await helper.unload();
    const flow = await create();
    const again = flow.error();
    flow.send({ payload: ['a cat'] });
    should((await again).error.message).equal(
      'msg.payload muss ein Objekt mit Modelleingaben sein, z. B. {"prompt": "eine Katze"}, oder der Prompt als Text, ist aber ein Array',
    );
  });

  it("says a sentence made of sentences in German as a whole, keeping the error's fields", async () => {
    nr.emulator.fault({ match: { method: 'POST' }, type: 'status', status: 500, process: true });
    const flow = await create({ validateInput: false });
    const caught = flow.error();
    flow.send({});
    const { error } = await caught;
    should(error.message).match(
      /^Bei Replicate ist ein Serverfehler aufgetreten \(HTTP 500\).*\. Die Vorhersage wurde möglicherweise trotzdem erstellt und deshalb nicht erneut gesendet: Vor einem neuen Versuch die Vorhersagen auf replicate\.com prüfen\.$/,
    );
    // the error the node reports keeps its fields (Node-RED 4 and later also copy `code` into msg.error)
    const proto = (helper as unknown as { _NodePrototype: { error: { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> } } })
      ._NodePrototype;
    const reported = proto.error
      .getCalls()
      .filter((call) => call.thisValue === flow.node)
      .map((call) => call.args[0] as { code?: string; message?: string });
    should(reported.at(-1)).match({ code: 'server', message: error.message });

    await helper.unload();
    const bad = await create({ wait: 'later', waitSeconds: 0 });
    const settings = 'Einstellungen: „Ausgabe“ muss none, sync, complete oder stream sein; „Max. Wartezeit“ muss mindestens 1 sein';
    should(loggedBy(bad.node, 'error')).eql([settings]);
    const refused = bad.error();
    bad.send({});
    should((await refused).error.message).equal(settings);
  });

  it('warns in German that a prediction keeps running when a redeploy deletes its node', async () => {
    nr.emulator.fault({ type: 'timing', startingMs: 100, processingMs: 10_000 });
    const flow = await create({ wait: 'complete', pollInterval: 0.1, maxPolls: 100 });
    flow.send({});
    while (!nr.emulator.requests.some((r) => r.method === 'GET' && r.path.startsWith('/v1/predictions/')))
      await new Promise((r) => setTimeout(r, 20));
    const id = nr.emulator.requests
      .find((r) => r.method === 'GET' && r.path.startsWith('/v1/predictions/'))!
      .path.split('/')
      .at(-1);
    await helper.setFlows([{ id: 'tab', type: 'tab' }]); // the node deleted
    should(loggedBy(flow.node, 'warn')).eql([
      `Die Vorhersage ${id} läuft auf Replicate weiter: Dieser Node wurde geschlossen (Deploy oder Stopp), während er auf sie wartete, und sendet für sie keine Nachricht mehr. Um sie abzubrechen, msg.predictionId „${id}“ an einen „Vorhersage abbrechen“-Node senden.`,
    ]);
  });

  it('answers the sender of a webhook in German', async () => {
    const completedNode = await nr.load(
      { type: 'replicate-prediction-completed', url: '/replicate/completed' },
      { ...de, webhookSecret: 'whsec_' + Buffer.from('k'.repeat(32)).toString('base64') },
    );
    const unsigned = await httpNode().post('/replicate/completed').set('content-type', 'application/json').send('{}');
    should(unsigned.status).equal(401);
    should(unsigned.text).equal('Die Webhook-Signatur fehlt oder stimmt nicht');
    should(statusesOf(completedNode.node).at(-1)).eql({ fill: 'red', shape: 'ring', text: 'ungültige Signatur' });
  });

  it('answers the edit dialogs in German', async () => {
    await helper.load(nodeModules(['replicate-config'], 'de'), [configNode('cfg', nr.emulator.url)], { cfg: { token: DEFAULT_TOKEN } });
    const ask = (route: string, body: object) => helper.request().post(`/replicate-config/${route}`).send(body).expect(200);
    should((await ask('models', { config: { id: 'not-deployed', baseUrl: nr.emulator.url } })).body).eql({
      ok: false,
      message:
        'Das Token eingeben, um ein nicht deploytes Replicate-Konto zu verwenden: Ein gespeichertes Token oder eines aus der Umgebung wird nur an die API-URL seines deployten Kontos gesendet',
    });
    should((await ask('schema', { config: { id: 'cfg' }, model: 'nobody/nothing' })).body).eql({
      ok: false,
      message: 'Replicate hat das Modell „nobody/nothing“ nicht gefunden (404)',
    });
  });

  it('logs a config node it cannot use in German', async () => {
    await helper.load(
      nodeModules(['replicate-config'], 'de'),
      [configNode('cfg', 'http://replicate.example.com/v1', { timeout: 'soon' })],
      {
        cfg: { token: DEFAULT_TOKEN },
      },
    );
    should(loggedBy(helper.getNode('cfg'), 'error')).eql([
      'Replicate-Konto: „Zeitlimit“ muss eine Zahl sein; API-Basis-URL muss mit https:// beginnen (reines http ist nur für 127.0.0.1 und localhost erlaubt)',
    ]);
  });
});
