'use strict';
// `npm start`: Node-RED at http://127.0.0.1:1880 with this package loaded from the working tree
// and a user dir inside the project (.node-red/, git-ignored). Without REPLICATE_API_TOKEN it
// also starts the local Replicate emulator and points the "Replicate" config node at it, so the
// examples run offline; with the variable set, that config node talks to the real Replicate.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const root = path.join(__dirname, '..');
const userDir = path.join(root, '.node-red');
const flowFile = path.join(userDir, 'flows.json');
const credFile = path.join(userDir, 'flows_cred.json');
const uiPort = Number(process.env.PORT || 1880);
const emulatorPort = Number(process.env.EMULATOR_PORT || 8788);

// The examples refer to this config node id, so they work as soon as they are imported.
const CONFIG_ID = 'replicate-account';

function readJson(file, fallback) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return fallback;
  }
}

function seedConfigNode(baseUrl, token) {
  const flows = readJson(flowFile, []);
  const existing = flows.find((node) => node.id === CONFIG_ID);
  const config = {
    ...(existing || {
      id: CONFIG_ID,
      type: 'replicate-config',
      timeout: 30,
      concurrency: 10,
      createRateLimit: 600,
      requestRateLimit: 3000,
      maxRetries: 5,
    }),
    name: token ? 'Replicate (local emulator)' : 'Replicate',
    baseUrl,
    webhookBaseUrl: existing?.webhookBaseUrl || `http://127.0.0.1:${uiPort}`,
  };
  fs.writeFileSync(flowFile, JSON.stringify(existing ? flows.map((n) => (n.id === CONFIG_ID ? config : n)) : [...flows, config], null, 2));
  // credentialSecret is off for this development user dir, so credentials are plain JSON here.
  const creds = readJson(credFile, {});
  creds[CONFIG_ID] = token ? { token } : {};
  fs.writeFileSync(credFile, JSON.stringify(creds, null, 2));
}

function writeSettings() {
  const settings = {
    uiHost: '127.0.0.1',
    uiPort,
    userDir,
    flowFile: 'flows.json',
    // the examples' file nodes read and write relative paths: here, beside the flows, not in the repository
    fileWorkingDirectory: userDir,
    credentialSecret: false,
    nodesDir: [root],
    telemetry: { enabled: false, updateNotification: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
  };
  const file = path.join(userDir, 'settings.js');
  fs.writeFileSync(file, `// Written by scripts/start.js on every start.\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`);
  return file;
}

async function main() {
  if (!fs.existsSync(path.join(root, 'dist', 'nodes', 'replicate-config.js'))) {
    console.error('The package is not built yet: run `npm install` (or `npm run build`) first.');
    process.exit(1);
  }
  fs.mkdirSync(userDir, { recursive: true });

  let emulator;
  if (process.env.REPLICATE_API_TOKEN) {
    seedConfigNode('https://api.replicate.com/v1', undefined);
    console.log('REPLICATE_API_TOKEN is set: the "Replicate" config node talks to the real Replicate API.');
  } else {
    const { startEmulator, DEFAULT_TOKEN } = require('../dist/emulator');
    emulator = await startEmulator({ port: emulatorPort, timing: 'catalog' }).catch(() => startEmulator({ port: 0, timing: 'catalog' }));
    seedConfigNode(emulator.url, DEFAULT_TOKEN);
    console.log(`Local Replicate emulator: ${emulator.url} (config node "Replicate (local emulator)")`);
    console.log('Set REPLICATE_API_TOKEN to use the real Replicate instead.');
  }

  const nodeRed = spawn(process.execPath, [require.resolve('node-red/red.js'), '--settings', writeSettings(), '--userDir', userDir], {
    stdio: 'inherit',
    // the fine-tuning example reads its photos from here (installed from the palette, it finds them under node_modules/)
    env: { REPLICATE_SAMPLE_PHOTOS: path.join(root, 'examples', 'sample-photos'), ...process.env },
  });
  console.log(`Node-RED: http://127.0.0.1:${uiPort}  (examples: menu > Import > Examples > @nr-replicate/node-red-replicate)`);

  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    nodeRed.kill('SIGINT');
    await emulator?.close();
    process.exit(code);
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  nodeRed.on('exit', (code) => stop(code ?? 0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
