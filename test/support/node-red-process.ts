// A real Node-RED in its own process, with our nodes, a flow and credentials: for what the test
// helper cannot show (the admin API's real auth, the real middleware order).
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { resolveNodeRed } from './node-red';

const ROOT = path.join(__dirname, '..', '..', '..');

export interface NodeRedProcess {
  /** http://127.0.0.1:port */
  base: string;
  /** Everything the process printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts Node-RED on a free loopback port. `settingsSource` is JavaScript for an object literal
 * merged into the settings, for what JSON cannot hold (e.g. adminAuth functions).
 */
export async function startNodeRed({
  flows,
  credentials = {},
  settingsSource = '{}',
}: {
  flows: object[];
  credentials?: Record<string, object>;
  settingsSource?: string;
}): Promise<NodeRedProcess> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nr-replicate-real-'));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(credentials));
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
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = Object.assign(${JSON.stringify(settings)}, ${settingsSource});`);
  const child: ChildProcess = spawn(process.execPath, [resolveNodeRed('node-red/red.js'), '--settings', path.join(userDir, 'settings.js'), '--userDir', userDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  };
  try {
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Node-RED did not start:\n${output}`)), 45_000);
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`Node-RED exited:\n${output}`));
      });
      const look = () => {
        const url = /Server now running at (http:\/\/\S+?)\/?\s/.exec(output)?.[1];
        if (url && output.includes('Started flows')) {
          clearTimeout(timer);
          resolve(url);
        } else if (child.exitCode === null) setTimeout(look, 100);
      };
      look();
    });
    return { base, output: () => output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
