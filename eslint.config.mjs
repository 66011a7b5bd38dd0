// One lint pass over everything that is TypeScript or JavaScript in the repo.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';


// The layers, kept by the linter: core is pure (no VS Code, no host or worker code), the protocol
// and the webview run in a browser frame too, and the webview takes only types from core, apart
// from the one formatting module every surface shares.
const forbid = (...groups) => groups.map((g) => ({ group: [g], message: 'crosses a layer boundary (see eslint.config.mjs)' }));
const layer = (files, patterns, paths = []) => ({
  files,
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns }] },
});
const noVscode = [{ name: 'vscode', message: 'only src/extension talks to VS Code' }];
const layers = [
  layer(['src/core/**/*.ts'], forbid('**/shared/*', '**/cli/*', '**/worker/*', '**/extension/*'), noVscode),
  layer(['src/shared/**/*.ts'], forbid('node:*', '**/cli/*', '**/worker/*', '**/extension/*'), noVscode),
  layer(['src/worker/**/*.ts'], forbid('**/cli/*', '**/extension/*', '**/host/*'), noVscode),
  layer(['src/host/**/*.ts'], forbid('**/cli/*', '**/extension/*', '**/worker/*'), noVscode),
  layer(['src/cli/**/*.ts'], forbid('**/extension/*'), noVscode),
  layer(['webview/**/*.ts'], [
    ...forbid('node:*', '**/src/cli/*', '**/src/worker/*', '**/src/extension/*'),
    { group: ['**/src/core/**', '!**/src/core/format'], allowTypeImports: true, message: 'the webview takes only types from src/core (and core/format)' },
  ], noVscode),
];

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', '.tmp/**', 'demo-output/**', 'test-results/**', 'test/vscode/suite/index.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  { files: ['webview/**/*.ts'], languageOptions: { globals: { ...globals.browser } } },
  ...layers,
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: { ...globals.node } }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
