// The Runs view lists runs of every kind made by the CLI in the workspace: a benchmark and a
// fine-tuning run recorded under .compression-lab/runs/ by `compression-lab bench` and
// `compression-lab train` run in the workspace folder before the workbench opens. Screenshot:
// test-results/runs-view-cli-runs.png. Run: npm run test:e2e.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { BERT_FAMILY, builtVsix, REPO_ROOT, runCommand, screenshot, useWorkbench } from './harness';

function cli(cwd: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'compression-lab.js'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`compression-lab ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

describe('the Runs view in a real VS Code', { timeout: 400_000 }, () => {
  const { page, workspace, step } = useWorkbench({
    name: 'runs-view',
    vsix: builtVsix(),
    readyCommand: 'Compression Lab: Benchmark Model...',
    prepare: (ws: string) => {
      cpSync(path.join(BERT_FAMILY, 'bert-mini'), path.join(ws, 'bert-mini'), { recursive: true });
      // Pre-tokenized rows inside bert-mini's vocabulary: no tokenizer needed.
      const rows = Array.from({ length: 32 }, (_, i) => JSON.stringify({ input_ids: [101, 110 + (i % 50), 120 + i, 102], label: i % 2 }));
      writeFileSync(path.join(ws, 'train.jsonl'), rows.join('\n') + '\n');
      cli(ws, 'bench', 'bert-mini/model.onnx', '--seq', '16', '--warmup', '1', '--runs', '5', '--threads', '1');
      cli(ws, 'train', '--model', 'bert-mini/model.onnx', '--data', 'train.jsonl', '--out', 'tuned/model.onnx', '--max-steps', '3', '--batch-size', '8', '--threads', '1');
    },
  });

  step('1 a benchmark run and a train run made by the CLI are listed, each with its kind', async () => {
    const files = readdirSync(path.join(workspace(), '.compression-lab', 'runs'));
    assert.equal(files.length, 2, files.join(', '));
    await runCommand(page(), 'Compression Lab: Focus on Runs View');
    const rows = page().locator('.monaco-list-row').filter({ hasText: 'bert-mini' });
    const bench = rows.filter({ hasText: 'benchmark' }).filter({ hasText: 'p50' });
    const train = rows.filter({ hasText: 'fine-tune' }).filter({ hasText: '3 steps' });
    await bench.first().waitFor({ state: 'visible', timeout: 20_000 });
    await train.first().waitFor({ state: 'visible', timeout: 20_000 });
    assert.equal(await rows.count(), 2);
    await screenshot(page(), 'runs-view-cli-runs');
  });
});
