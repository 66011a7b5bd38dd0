// The layer rules in eslint.config.mjs bite: each forbidden import is reported in the zone it is
// forbidden in, and the imports each zone may make pass. Linted as text at virtual paths, so no
// file in the tree has to break the rules for the test to see them work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });
const RULE = '@typescript-eslint/no-restricted-imports';

async function layerErrors(file: string, code: string): Promise<number> {
  const [r] = await eslint.lintText(code, { filePath: file });
  return r.messages.filter((m) => m.ruleId === RULE).length;
}

const forbidden: Array<[string, string]> = [
  ['src/core/benchmark/x.ts', "import { table } from '../../cli/format';\nexport const t = table;\n"],
  ['src/core/x.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n"],
  ['src/core/x.ts', "import { Endpoint } from '../shared/protocol';\nexport const v = Endpoint;\n"],
  ['src/core/training/x.ts', "import { startJob } from '../../worker/job-runner';\nexport const v = startJob;\n"],
  ['src/core/x.ts', "import type { X } from '../extension/extension';\nexport type v = X;\n"],
  ['src/shared/x.ts', "import { readFileSync } from 'node:fs';\nexport const v = readFileSync;\n"],
  ['src/worker/x.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n"],
  ['src/host/x.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n"],
  ['src/host/x.ts', "import { main } from '../cli/main';\nexport const v = main;\n"],
  ['src/cli/x.ts', "import { activate } from '../extension/extension';\nexport const v = activate;\n"],
  ['webview/x.ts', "import { analyzeModel } from '../src/core/analysis/model-card';\nexport const v = analyzeModel;\n"],
  ['webview/compare/x.ts', "import { NOISY_CV } from '../../src/core/benchmark/stats';\nexport const v = NOISY_CV;\n"],
  ['webview/x.ts', "import { table } from '../src/cli/format';\nexport const v = table;\n"],
  ['webview/x.ts', "import { readFileSync } from 'node:fs';\nexport const v = readFileSync;\n"],
];
const allowed: Array<[string, string]> = [
  ['src/core/x.ts', "import { openModel } from './open-model';\nexport const v = openModel;\n"],
  ['src/shared/x.ts', "import type { ModelCard } from '../core/analysis/model-card';\nexport type v = ModelCard;\n"],
  ['src/cli/x.ts', "import { startJob } from '../host/job-runner';\nexport const v = startJob;\n"],
  ['src/worker/x.ts', "import { Endpoint } from '../shared/protocol';\nexport const v = Endpoint;\n"],
  ['webview/x.ts', "import type { ModelCard } from '../src/core/analysis/model-card';\nexport type v = ModelCard;\n"],
  ['webview/x.ts', "import { formatCount } from '../src/core/format';\nexport const v = formatCount;\n"],
  ['webview/x.ts', "import { Endpoint } from '../src/shared/protocol';\nexport const v = Endpoint;\n"],
];

test('every forbidden cross-layer import is an ESLint error in its zone', async () => {
  for (const [file, code] of forbidden) assert.ok(await layerErrors(file, code) > 0, `${file}: ${code.split('\n')[0]} was allowed`);
});

test('the imports each layer may make pass', async () => {
  for (const [file, code] of allowed) assert.equal(await layerErrors(file, code), 0, `${file}: ${code.split('\n')[0]} was refused`);
});
