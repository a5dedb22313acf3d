// The trigger inside a real Node-RED process, laid out as users run it: the admin API and
// httpNode share the root path, so the admin API's JSON parser sees every request first. The
// signature must still be checked over the bytes Replicate sent.
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import should from 'should';
import { signWebhook } from '../emulator';
import { resolveNodeRed } from './support/node-red';

const ROOT = path.join(__dirname, '..', '..');
const SECRET = 'whsec_' + Buffer.from('a signing key of thirty-two bytes').toString('base64');

describe('the trigger in a real Node-RED, admin API and httpNode both at /', function () {
  this.timeout(60_000);
  let child: ChildProcess;
  let output = '';
  let base: string;
  let userDir: string;

  before(async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nr-replicate-real-'));
    fs.writeFileSync(
      path.join(userDir, 'flows.json'),
      JSON.stringify([
        { id: 'tab', type: 'tab', label: 'webhook' },
        { id: 'cfg', type: 'replicate-config', name: 'account', baseUrl: 'https://api.replicate.com/v1' },
        { id: 'trigger', type: 'replicate-prediction-completed', z: 'tab', x: 100, y: 100, replicate: 'cfg', url: '/replicate/completed', wires: [['out']] },
        { id: 'out', type: 'debug', z: 'tab', x: 300, y: 100, name: 'done', active: true, tosidebar: false, console: true, complete: 'predictionId', targetType: 'msg', wires: [] },
      ]),
    );
    fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify({ cfg: { token: 'r8_unused', webhookSecret: SECRET } }));
    const settings = {
      uiHost: '127.0.0.1',
      uiPort: 0,
      userDir,
      flowFile: 'flows.json',
      credentialSecret: false,
      nodesDir: [ROOT],
      telemetry: { enabled: false, updateNotification: false },
      logging: { console: { level: 'info' } },
    };
    fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings)};`);
    child = spawn(process.execPath, [resolveNodeRed('node-red/red.js'), '--settings', path.join(userDir, 'settings.js'), '--userDir', userDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Node-RED did not start:\n${output}`)), 45_000);
      const look = () => {
        const url = /Server now running at (http:\/\/\S+?)\/?\s/.exec(output)?.[1];
        if (url && output.includes('Started flows')) {
          clearTimeout(timer);
          resolve(url);
        } else setTimeout(look, 100);
      };
      look();
    });
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  const deliver = (body: string, secret = SECRET) => {
    const id = `msg_${Math.random().toString(36).slice(2)}`;
    const timestamp = Math.floor(Date.now() / 1000);
    return fetch(`${base}/replicate/completed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body) },
      body,
    });
  };

  it('verifies a JSON delivery over its raw bytes and continues the flow', async () => {
    // spacing that a JSON parser and re-serializer would not keep
    const body = '{ "id": "realnoderedtest0001", "status": "succeeded",  "output": ["https://replicate.delivery/x.png"] }';
    const res = await deliver(body);
    should(res.status).equal(200);
    const deadline = Date.now() + 5000;
    while (!output.includes('realnoderedtest0001') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    should(output).match(/\[debug:done\][\s\S]*realnoderedtest0001/);
  });

  it('still refuses a forged delivery, malformed JSON and an oversized body', async () => {
    should((await deliver('{"id": "forged00000001", "status": "succeeded"}', 'whsec_' + Buffer.from('not the right key at all').toString('base64'))).status).equal(401);
    should((await deliver('{"id": ')).status).equal(400);
    should((await deliver(JSON.stringify({ id: 'huge', status: 'succeeded', logs: 'x'.repeat(6 * 1024 * 1024) }))).status).equal(413);
    should(output).not.containEql('forged00000001');
  });
});
