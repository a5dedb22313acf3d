'use strict';
// `npm run test:compat`: the whole mocha suite (dist/test) on each Node-RED line the package
// supports, each on the Node.js it needs: Node-RED 3.1.x and 4.x on Node 20, 5.x on Node 22.
//
// Each target gets the newest release in its range (asked of the npm registry; offline, the
// newest one already cached). Node-RED releases, and a Node.js binary from the `node` npm package
// when the Node.js running this script is not the one a target needs, are installed with npm
// into a cache (node_modules/.cache/node-red-compat, or COMPAT_CACHE), one directory per exact
// version, and reused by later runs. Installs run in parallel, each target's tests start as soon
// as its installs are done, and the targets' test runs go on side by side. Each run's full mocha
// output goes to test-artifacts/compat/<target>.log; failures are printed at the end.
//
//   npm run test:compat                       every target
//   npm run test:compat -- --only 5           the targets whose Node-RED range starts with 5
//   npm run test:compat -- --serial           one target after another
//   npm run test:compat -- -- --grep webhook  anything after a second `--` goes to mocha
//   node scripts/test-compat.js --only 5 --browser
//                                             the browser test (test/browser) instead of the suite,
//                                             on that Node-RED: CI's editor check on Node-RED 5
//
// The tests select the Node-RED through NODE_RED_PATH (test/support/node-red-host.ts). This file is
// also preloaded into each test process (NODE_OPTIONS=--require) to record which Node-RED the
// test helper really ran on, so a run that silently fell back to the dev dependency fails.
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { npm } = require('./npm');

const ROOT = path.join(__dirname, '..');

if (require.main !== module) {
  preloadedIntoTestProcess(); // defined at the end
  return; // (CommonJS: the rest is the command)
}

const TARGETS = [
  { nodeRed: '3.1', node: '20' },
  { nodeRed: '4', node: '20' },
  { nodeRed: '5', node: '22' },
];
const CACHE = process.env.COMPAT_CACHE
  ? path.resolve(process.env.COMPAT_CACHE)
  : path.join(ROOT, 'node_modules', '.cache', 'node-red-compat');
const LOGS = path.join(ROOT, 'test-artifacts', 'compat');
const MOCHA = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
/** A test run still going after this long is stopped and counted as failed. */
const RUN_TIMEOUT_MS = Number(process.env.COMPAT_TIMEOUT_SECONDS || 600) * 1000;
const started = Date.now();

// ---------------------------------------------------------------------------------- helpers

const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
const say = (line) => console.log(`compat: ${line}`);

/** x.y.z versions only (no prereleases), compared numerically. */
function parseVersion(version) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return m ? m.slice(1, 4).map(Number) : undefined;
}
function compareVersions(a, b) {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}
/** Ranges here are `major` or `major.minor`, as `npm install name@3.1` reads them. */
function inRange(version, range) {
  const parts = parseVersion(version);
  return !!parts && range.split('.').every((part, i) => Number(part) === parts[i]);
}
const newest = (versions, range) =>
  versions
    .filter((v) => inRange(v, range))
    .sort(compareVersions)
    .at(-1);

/** Every published version of a package; undefined when the registry cannot be reached. */
const versionLists = new Map();
function publishedVersions(name) {
  if (!versionLists.has(name)) {
    versionLists.set(
      name,
      npm(['view', name, 'versions', '--json']).then(
        (out) => [].concat(JSON.parse(out)),
        (err) => {
          say(`cannot ask the npm registry about ${name} (${err.message.split('\n')[0]}); using the cache`);
          return undefined;
        },
      ),
    );
  }
  return versionLists.get(name);
}

const dirOf = (name, version) => path.join(CACHE, `${name}-${version}`);
const COMPLETE = '.compat-complete';
function cachedVersions(name) {
  if (!fs.existsSync(CACHE)) return [];
  return fs
    .readdirSync(CACHE)
    .filter((entry) => entry.startsWith(`${name}-`) && fs.existsSync(path.join(CACHE, entry, COMPLETE)))
    .map((entry) => entry.slice(name.length + 1))
    .filter((version) => parseVersion(version));
}

/** The newest release of name@range: from the registry, or offline the newest cached one. */
async function pickVersion(name, range) {
  const published = await publishedVersions(name);
  const version = newest(published ?? cachedVersions(name), range);
  if (!version)
    throw new Error(`no ${name}@${range} ${published ? 'is published' : 'in the cache, and the npm registry cannot be reached'}`);
  return version;
}

/**
 * name@version installed under the cache, reused when already there. A fresh install goes to a
 * temporary directory first and is renamed into place once complete, so an interrupted install
 * is never taken for a finished one. Older versions of the same range are removed afterwards.
 */
const installs = new Map();
function install(name, version, range, { ignoreScripts }) {
  const key = `${name}@${version}`;
  if (!installs.has(key)) {
    installs.set(
      key,
      (async () => {
        const dir = dirOf(name, version);
        if (fs.existsSync(path.join(dir, COMPLETE))) return { dir, cached: true, ms: 0 };
        const t0 = Date.now();
        say(`installing ${key} ...`);
        const tmp = `${dir}.tmp-${process.pid}`;
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.mkdirSync(tmp, { recursive: true });
        // allowScripts: npm 11 runs a dependency's install scripts only with a warning unless allowed
        const manifest = {
          private: true,
          description: 'npm run test:compat cache',
          ...(ignoreScripts ? {} : { allowScripts: { [name]: true } }),
        };
        fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify(manifest) + '\n');
        const args = ['install', '--prefix', tmp, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'];
        if (ignoreScripts) args.push('--ignore-scripts');
        fs.mkdirSync(LOGS, { recursive: true });
        await npm([...args, key], { log: path.join(LOGS, `install-${name}-${version}.log`) });
        fs.writeFileSync(path.join(tmp, COMPLETE), JSON.stringify({ name, version, installedAt: new Date().toISOString() }) + '\n');
        fs.rmSync(dir, { recursive: true, force: true });
        fs.renameSync(tmp, dir);
        for (const old of cachedVersions(name)) {
          if (old !== version && inRange(old, range)) fs.rmSync(dirOf(name, old), { recursive: true, force: true });
        }
        return { dir, cached: false, ms: Date.now() - t0 };
      })(),
    );
  }
  return installs.get(key);
}

/** Runs a command to its end, stdout and stderr together; `.child` is the process. */
function run(command, args, options) {
  let child;
  const done = new Promise((resolve) => {
    child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => resolve({ code: -1, out: `${out}\n${err.stack}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, out }));
  });
  done.child = child;
  return done;
}

/** Test runs in progress (each its own process group), stopped if this script is interrupted. */
const testProcesses = new Set();
function stopGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group has already exited
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of testProcesses) stopGroup(child);
    process.exit(130);
  });
}

// --------------------------------------------------------------------------- the Node.js binaries

/** The Node.js binary a target runs on: this one when it is that major version, else from the `node` npm package. */
const nodeBinaries = new Map();
function nodeFor(major) {
  if (!nodeBinaries.has(major)) {
    nodeBinaries.set(
      major,
      (async () => {
        if (inRange(process.version, major)) return { bin: process.execPath, version: process.version, ms: 0, cached: true };
        const version = await pickVersion('node', major);
        const installed = await install('node', version, major, { ignoreScripts: false }); // its preinstall fetches the binary package
        const bin = path.join(installed.dir, 'node_modules', 'node', 'bin', 'node');
        const check = await run(bin, ['--version'], {});
        if (check.code !== 0 || check.out.trim() !== `v${version}`) {
          throw new Error(`${bin} is not Node.js ${version} (it said: ${check.out.trim() || `exit ${check.code}`})`);
        }
        return { bin, version: `v${version}`, ms: installed.ms, cached: installed.cached };
      })(),
    );
  }
  return nodeBinaries.get(major);
}

// ------------------------------------------------------------------------------------ a target

/** A number from mocha's closing summary (its last such line). */
function count(out, word) {
  const all = [...out.matchAll(new RegExp(`^ {2}(\\d+) ${word}\\b`, 'gm'))];
  return all.length ? Number(all.at(-1)[1]) : 0;
}

/** What mocha printed from the first failure on, to show in this script's output. */
function failureDetails(out) {
  const at = out.search(/^\s*\d+ failing\b/m);
  return (at >= 0 ? out.slice(at) : out.split('\n').slice(-40).join('\n')).trimEnd();
}

async function runTarget(target, mochaArgs, schedule) {
  const result = { target, label: `node-red@${target.nodeRed}.x`, ok: false, passing: 0, failing: 0, pending: 0, installMs: 0, testMs: 0 };
  try {
    const t0 = Date.now();
    const [nodeRedVersion, node] = await Promise.all([
      pickVersion('node-red', target.nodeRed).then(async (version) => ({
        version,
        ...(await install('node-red', version, target.nodeRed, { ignoreScripts: true })), // no script is needed to run Node-RED
      })),
      nodeFor(target.node),
    ]);
    result.installMs = Date.now() - t0;
    result.label = `node-red@${nodeRedVersion.version} on node ${node.version}`;
    const nodeRedDir = path.join(nodeRedVersion.dir, 'node_modules', 'node-red');
    say(
      `${result.label}: ready after ${seconds(result.installMs)} (node-red ${nodeRedVersion.cached ? 'cached' : `installed in ${seconds(nodeRedVersion.ms)}`}` +
        `, node ${node.bin === process.execPath ? 'this one' : node.cached ? 'cached' : `installed in ${seconds(node.ms)}`})`,
    );

    const log = path.join(LOGS, `node-red-${nodeRedVersion.version}.log`);
    const report = path.join(LOGS, `node-red-${nodeRedVersion.version}.loaded.json`);
    fs.rmSync(report, { force: true });
    const env = {
      ...process.env,
      NODE_RED_PATH: nodeRedDir,
      COMPAT_REPORT: report,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS || ''} --require ${JSON.stringify(__filename)}`.trim(),
      PATH: `${path.dirname(node.bin)}${path.delimiter}${process.env.PATH}`, // anything the tests start runs on the target's Node.js too
      FORCE_COLOR: '0',
    };
    const { code, signal, out } = await schedule(async () => {
      say(`${result.label}: running the tests (log: ${path.relative(ROOT, log)})`);
      const t1 = Date.now();
      // Its own process group, so a stop reaches the child mocha forks for its node options.
      const running = run(node.bin, [MOCHA, ...mochaArgs], { cwd: ROOT, env, detached: true });
      testProcesses.add(running.child);
      const watchdog = setTimeout(() => {
        say(`${result.label}: still running after ${seconds(RUN_TIMEOUT_MS)}, stopping it`);
        stopGroup(running.child);
      }, RUN_TIMEOUT_MS);
      const ended = await running;
      clearTimeout(watchdog);
      testProcesses.delete(running.child);
      result.testMs = Date.now() - t1;
      return ended;
    });
    fs.writeFileSync(log, out);
    result.passing = count(out, 'passing');
    result.failing = count(out, 'failing');
    result.pending = count(out, 'pending');

    const problems = [];
    if (code !== 0) problems.push(`mocha exited with ${signal || code}`);
    if (result.passing === 0) problems.push('no test passed');
    const loaded = fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')) : undefined;
    if (!loaded) problems.push('the test process did not say which Node-RED it ran on');
    else {
      if (loaded.helperRuntime !== nodeRedVersion.version) {
        problems.push(`the test helper ran on Node-RED ${loaded.helperRuntime}, not ${nodeRedVersion.version}`);
      }
      if (loaded.nodeVersion !== node.version) problems.push(`the tests ran on Node.js ${loaded.nodeVersion}, not ${node.version}`);
      if (loaded.foreignCoreNodes.length) {
        problems.push(
          `core nodes were loaded from another Node-RED: ${loaded.foreignCoreNodes.map((f) => path.relative(ROOT, f)).join(', ')}`,
        );
      }
    }
    result.ok = problems.length === 0 && result.failing === 0;
    if (!result.ok) result.details = [...problems, ...(code !== 0 || result.failing ? [failureDetails(out)] : [])].join('\n');
  } catch (err) {
    result.details = err.stack || String(err);
  }
  return result;
}

// ---------------------------------------------------------------------------------------- main

async function main() {
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const own = split >= 0 ? argv.slice(0, split) : argv;
  const mochaArgs = split >= 0 ? argv.slice(split + 1) : [];
  const only = own.includes('--only') ? own[own.indexOf('--only') + 1] : undefined;
  const serial = own.includes('--serial') || process.env.COMPAT_SERIAL === '1';
  if (own.includes('--browser')) {
    mochaArgs.unshift('--no-config', '--timeout', '120000', '--enable-source-maps', 'dist/test/browser/**/*.browser.js');
  }
  const targets = TARGETS.filter(
    (t) => !only || t.nodeRed === only || t.nodeRed.startsWith(`${only}.`) || only.startsWith(`${t.nodeRed}.`),
  );
  if (!targets.length) throw new Error(`no target matches --only ${only} (targets: ${TARGETS.map((t) => t.nodeRed).join(', ')})`);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'test'))) throw new Error('dist/test is missing: run `npm run build` first');
  fs.mkdirSync(CACHE, { recursive: true });
  fs.mkdirSync(LOGS, { recursive: true });
  say(
    `Node-RED ${targets.map((t) => `${t.nodeRed}.x on node ${t.node}`).join(', ')}; cache ${CACHE.startsWith(ROOT + path.sep) ? path.relative(ROOT, CACHE) : CACHE}`,
  );

  // Installs all start at once; test runs start as their installs finish (one at a time with --serial).
  let queue = Promise.resolve();
  const schedule = (job) => {
    if (!serial) return job();
    const turn = queue.then(job);
    queue = turn.catch(() => {});
    return turn;
  };
  const results = await Promise.all(targets.map((target) => runTarget(target, mochaArgs, schedule)));

  console.log('');
  for (const r of results.filter((r) => !r.ok)) {
    console.log(`---- ${r.label}: FAILED ----\n${r.details}\n`);
  }
  for (const r of results) {
    const pending = r.pending ? `, ${r.pending} pending` : '';
    const status = r.ok ? '' : ' FAILED';
    console.log(
      `compat ${r.label}: ${r.passing} passing, ${r.failing} failing${pending}${status} (setup ${seconds(r.installMs)}, tests ${seconds(r.testMs)})`,
    );
  }
  const failedTargets = results.filter((r) => !r.ok).length;
  const passed = results.reduce((n, r) => n + r.passing, 0);
  const failed = results.reduce((n, r) => n + r.failing, 0) + results.filter((r) => !r.ok && r.failing === 0).length;
  console.log(`compat total ${seconds(Date.now() - started)}: ${results.length - failedTargets} of ${results.length} targets passed`);
  console.log(`compat: ${passed} passed, ${failed} failed`);
  process.exitCode = failedTargets ? 1 : 0;
}

// ---------------------------------------------------------------------- inside a test process

/**
 * Preloaded into mocha's process: at exit, writes down which Node-RED the test helper ran on,
 * the Node.js version, and any core node file loaded from a Node-RED other than the selected one.
 */
function preloadedIntoTestProcess() {
  const report = process.env.COMPAT_REPORT;
  const selected = process.env.NODE_RED_PATH;
  if (!report || !selected) return;
  // As require.cache names it: the real path, also when node_modules is a symbolic link.
  const helperFile = require.resolve('node-red-node-test-helper', { paths: [ROOT] });
  process.on('exit', () => {
    const helper = require.cache[helperFile]?.exports;
    let helperRuntime;
    if (helper) {
      try {
        helperRuntime = helper._RED.version();
      } catch (err) {
        helperRuntime = `unknown (${err.message})`;
      }
    } else {
      // the browser test runs the selected Node-RED in its own process, without the helper
      const selectedDir = fs.realpathSync(path.resolve(selected));
      if (!Object.keys(require.cache).some((file) => file.startsWith(selectedDir + path.sep))) return; // a process the tests started
      helperRuntime = JSON.parse(fs.readFileSync(path.join(selectedDir, 'package.json'), 'utf8')).version;
    }
    // The selected Node-RED's packages sit in its own node_modules or hoisted beside it. The
    // helper, when first required, initialises itself with the Node-RED it finds (the dev
    // dependency) and loads its catch, status and complete nodes before the tests call init with
    // the selected one: those three are expected; any other core node from elsewhere is not.
    const selectedRoot = fs.realpathSync(path.resolve(selected, '..'));
    const preloadedByHelper = /[\\/]@node-red[\\/]nodes[\\/]core[\\/]common[\\/](25-catch|25-status|24-complete)\.js$/;
    const foreignCoreNodes = Object.keys(require.cache).filter(
      (file) =>
        /[\\/]@node-red[\\/]nodes[\\/]core[\\/]/.test(file) && !file.startsWith(selectedRoot + path.sep) && !preloadedByHelper.test(file),
    );
    for (const [type, module] of Object.entries(helper?._nodeModules || {})) {
      const file = Object.keys(require.cache).find((f) => require.cache[f].exports === module);
      if (!file || !file.startsWith(selectedRoot + path.sep)) foreignCoreNodes.push(`the helper's ${type} node: ${file}`);
    }
    fs.writeFileSync(report, JSON.stringify({ helperRuntime, nodeVersion: process.version, foreignCoreNodes }, null, 2) + '\n');
  });
}

main().catch((err) => {
  console.error(`compat: ${err.stack || err}`);
  process.exitCode = 1;
});
