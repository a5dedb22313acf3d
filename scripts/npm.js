'use strict';
// How the scripts run npm: the npm that runs them (npm_execpath, under `npm run`), else the one
// on PATH, as its JavaScript file, so any Node.js binary can run it (the scorecard installs with a
// Node 22); and without what `npm run` put into the environment about this project, so an install
// into a cache directory is not taken for one into the project.
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');

let cli;
function npmCli() {
  cli ??= process.env.npm_execpath?.endsWith('.js')
    ? process.env.npm_execpath
    : fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  return cli;
}

function npmEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(package_|lifecycle_|command$|config_(local_)?prefix$|config_global$)/i.test(key)) delete env[key];
  }
  return env;
}

/** Runs npm (in the project unless `cwd` says otherwise) to its end: its stdout; its stderr goes to ours; throws when npm fails. */
function npmSync(args, { cwd = ROOT, node = process.execPath } = {}) {
  return execFileSync(node, [npmCli(), ...args], { cwd, env: npmEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/**
 * Runs npm in the background: resolves with its stdout, or rejects naming the command and the end
 * of its stderr. With `log`, the command and everything npm printed are written to that file.
 */
function npm(args, { cwd = ROOT, node = process.execPath, log } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [npmCli(), ...args], { cwd, env: npmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (log) fs.writeFileSync(log, `$ npm ${args.join(' ')}\n${out}${err}`);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `npm ${args.join(' ')} exited with ${code}${log ? ` (see ${path.relative(ROOT, log)})` : ''}\n${err.trim().split('\n').slice(-15).join('\n')}`,
          ),
        );
    });
  });
}

module.exports = { npm, npmSync };
