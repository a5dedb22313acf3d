// One lint setup for the whole tree. The TypeScript (nodes/, emulator/, test/, bench/) gets
// typescript-eslint's type-checked recommended rules, typed through tsconfig.json; the plain-JS
// scripts/ and this file get the JS recommended rules. eslint-config-prettier comes last: formatting is Prettier's.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The Node.js globals the CommonJS scripts use (kept here rather than adding the `globals` package).
const nodeGlobals = Object.fromEntries(
  [
    'require',
    'module',
    'exports',
    '__dirname',
    '__filename',
    'process',
    'console',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'test-artifacts/', '.node-red/', 'bench/results/'] },
  { files: ['**/*.ts', 'scripts/**/*.js', '*.mjs'], extends: [js.configs.recommended] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `const node = this` is Node-RED's constructor idiom (its docs and core nodes): the one alias allowed
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['node'] }],
    },
  },
  { files: ['scripts/**/*.js'], languageOptions: { sourceType: 'commonjs', globals: nodeGlobals } },
  prettier,
);
