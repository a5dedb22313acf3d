// The core's layout, read from the source tree: one folder per concept, each reached by the
// others only through its index.ts; the HTTP client at the bottom, importing no other concept;
// nothing in the core importing Node-RED (or express), or the node files above it.
import fs from 'fs';
import os from 'os';
import path from 'path';
import should from 'should';

const CORE = path.join(__dirname, '..', '..', '..', 'nodes', 'core');
const FORBIDDEN = /^(node-red|@node-red\/|express(\/|$))/;
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;

function specifiers(text: string): string[] {
  return [...text.matchAll(SPECIFIER)].map((m) => m[2]!);
}

/** What is wrong with the layout of a core folder, one line per import or file. */
function layoutProblems(core: string): string[] {
  const problems: string[] = [];
  const files = fs
    .readdirSync(core, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.split(path.sep).join('/'));
  for (const file of files) {
    const parts = file.split('/');
    if (parts.length === 1 && file !== 'index.ts') problems.push(`${file}: a core file outside a concept folder`);
    if (parts.length > 2) problems.push(`${file}: nested deeper than one concept folder`);
    const concept = parts.length > 1 ? parts[0]! : undefined;
    for (const spec of specifiers(fs.readFileSync(path.join(core, file), 'utf8'))) {
      if (FORBIDDEN.test(spec)) problems.push(`${file}: imports ${spec}`);
      if (!spec.startsWith('.')) continue;
      const target = path.posix.join(path.posix.dirname(file), spec);
      if (target.startsWith('..')) {
        // leaving the core: only data (the package.json, the message catalog), never a node file
        if (!target.endsWith('.json')) problems.push(`${file}: imports ${spec}, outside the core`);
        continue;
      }
      const [targetConcept, ...rest] = target.split('/');
      if (targetConcept === concept) continue;
      if (rest.length > 0 && !(rest.length === 1 && rest[0] === 'index')) {
        problems.push(`${file}: imports ${spec}, not through the index of ${targetConcept}`);
      }
      if (concept === 'http') problems.push(`${file}: http imports another concept (${targetConcept})`);
    }
  }
  return problems;
}

describe('the layout of nodes/core', () => {
  it('has concept folders that import each other only through their index, http none, and no Node-RED', () => {
    should(fs.existsSync(path.join(CORE, 'http', 'index.ts'))).be.true();
    should(layoutProblems(CORE)).eql([]);
  });

  it('names each import that breaks the layout', () => {
    const core = fs.mkdtempSync(path.join(os.tmpdir(), 'core-layout-'));
    try {
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(core, file)), { recursive: true });
        fs.writeFileSync(path.join(core, file), text);
      };
      write('index.ts', "export * from './http';\nexport * from './webhooks';\n");
      write('http/index.ts', "export * from './client';\n");
      write('http/client.ts', "import type { Verdict } from '../webhooks';\nconst pkg = require('../../../package.json');\n");
      write('webhooks/index.ts', "export * from './receiver';\n");
      write(
        'webhooks/receiver.ts',
        [
          "import { ReplicateError } from '../http/errors';",
          "import { sentence } from '../http';",
          "import type { NodeAPI } from 'node-red';",
          "import express from 'express';",
          "import { flowNode } from '../../flow-node';",
          "const { Pool } = require('undici');",
        ].join('\n'),
      );
      write('helpers.ts', 'export const x = 1;\n');
      should(layoutProblems(core).sort()).eql(
        [
          'helpers.ts: a core file outside a concept folder',
          'http/client.ts: http imports another concept (webhooks)',
          'webhooks/receiver.ts: imports ../http/errors, not through the index of http',
          'webhooks/receiver.ts: imports node-red',
          'webhooks/receiver.ts: imports express',
          'webhooks/receiver.ts: imports ../../flow-node, outside the core',
        ].sort(),
      );
    } finally {
      fs.rmSync(core, { recursive: true, force: true });
    }
  });
});
