'use strict';
// `npm run scorecard`: the Flow Library's checks (node-red-dev validate) on the package as
// published: `npm pack`, unpacked into a cache directory, its dependencies installed as npm
// installs them for a user. Dependencies are resolved for Node 22 (what Node-RED 5 runs on):
// undici's newest major needs Node 22, and on Node 20 npm picks the newest undici that runs there
// (package.json allows both), so "dependencies at their latest version" is judged where it can be.
// The same holds for eventsource-parser (4 needs Node 22.12); the package is loaded there once.
// catalogue.nodered.org cannot be reached from CI: that one host is answered with an empty
// catalogue; every other request (the npm registry) goes out as usual and no check is skipped.
// Any warning fails the run.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { npmSync } = require('./npm');

const ROOT = path.join(__dirname, '..');
const STAGE = path.join(ROOT, 'node_modules', '.cache', 'scorecard');
const NODE22 = path.join(ROOT, 'node_modules', '.cache', 'node22');

/**
 * A Node 22 binary from the `node` npm package (its install script fetches the binary package):
 * the one `npm run test:compat` keeps in its cache when there is one, else one of our own.
 */
function node22() {
  const compat = path.join(ROOT, 'node_modules', '.cache', 'node-red-compat');
  const cached = fs.existsSync(compat)
    ? fs.readdirSync(compat).filter((dir) => /^node-22\.\d+\.\d+$/.test(dir) && fs.existsSync(path.join(compat, dir, '.compat-complete')))
    : [];
  const dir = cached.length > 0 ? path.join(compat, cached[0]) : NODE22;
  const bin = path.join(dir, 'node_modules', 'node', 'bin', 'node');
  if (!fs.existsSync(bin)) npmSync(['install', '--prefix', NODE22, '--no-save', '--no-audit', '--no-fund', 'node@22']);
  return bin;
}

function stagePackage() {
  fs.rmSync(STAGE, { recursive: true, force: true });
  fs.mkdirSync(STAGE, { recursive: true });
  const [packed] = JSON.parse(npmSync(['pack', '--ignore-scripts', '--json', '--pack-destination', STAGE]));
  execFileSync('tar', ['-xzf', path.join(STAGE, packed.filename), '-C', STAGE]);
  const dir = path.join(STAGE, 'package');
  npmSync(['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: dir, node: node22() });
  return dir;
}

async function validate(dir) {
  const cliDir = path.dirname(require.resolve('node-red-dev/package.json'));
  const fromCli = (id) => require(require.resolve(id, { paths: [cliDir] }));
  const axios = fromCli('axios');
  const realGet = axios.get.bind(axios);
  axios.get = (url, ...rest) =>
    new URL(url).host === 'catalogue.nodered.org' ? Promise.resolve({ status: 200, data: { modules: [] } }) : realGet(url, ...rest);

  let warnings = 0;
  const { Command } = fromCli('@oclif/command');
  const warn = Command.prototype.warn;
  Command.prototype.warn = function (message) {
    warnings++;
    return warn.call(this, message);
  };
  try {
    await fromCli('@oclif/command').run(['validate', '-p', dir], cliDir);
  } catch (err) {
    if (err?.oclif?.exit !== 0) throw err; // validate ends with exit(0)
  }
  return warnings;
}

/**
 * The staged package as Node 22 installs it (the newest majors: undici 8, eventsource-parser 4,
 * which is ESM only and loaded through require(esm)): its core loads, and an event stream parses.
 */
function checkNewestDependencies(dir) {
  const script = `
    const core = require(${JSON.stringify(path.join(dir, 'dist', 'nodes', 'core'))});
    const { createParser } = require(require.resolve('eventsource-parser', { paths: [${JSON.stringify(dir)}] }));
    const seen = [];
    createParser({ onEvent: (e) => seen.push(e) }).feed(${JSON.stringify('id: 1\nevent: output\ndata:  a\ndata: b\n\n')});
    if (typeof core.readEventStream !== 'function' || seen.length !== 1 || seen[0].data !== ${JSON.stringify(' a\nb')}) throw new Error(JSON.stringify(seen));
    console.log('The package loads on Node 22 with ' + ['undici', 'eventsource-parser'].map((n) => n + ' ' + require(require.resolve(n + '/package.json', { paths: [${JSON.stringify(dir)}] })).version).join(' and '));
  `;
  execFileSync(node22(), ['-e', script], { stdio: 'inherit' });
}

const dir = stagePackage();
checkNewestDependencies(dir);
validate(dir).then(
  (warnings) => {
    if (warnings > 0) {
      console.error(`\nThe scorecard has ${warnings} warning(s).`);
      process.exit(1);
    }
    console.log('\nThe scorecard passes every check with no warning.');
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
