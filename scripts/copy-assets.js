'use strict';
// Node-RED loads a node's editor template, message catalogs and icons from beside its .js file,
// so the build puts them next to the compiled node files in dist/nodes.
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'dist', 'nodes');

fs.mkdirSync(out, { recursive: true });
for (const file of fs.readdirSync(path.join(root, 'nodes'))) {
  if (file.endsWith('.html')) fs.copyFileSync(path.join(root, 'nodes', file), path.join(out, file));
}
for (const dir of [['nodes', 'locales'], ['icons']]) {
  const from = path.join(root, ...dir);
  if (fs.existsSync(from)) fs.cpSync(from, path.join(out, dir[dir.length - 1]), { recursive: true });
}
