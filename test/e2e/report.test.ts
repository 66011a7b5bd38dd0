// The compression report in a real VS Code (code-server) and Chromium, from runs the CLI made
// in the workspace before the workbench opened: a tiny teacher built with the project's builder
// and fine-tuned, a DistilBERT- and an ALBERT-style student distilled from it, the teacher quantized with
// evaluation rows, and benchmarks of all but the ALBERT student. Compression Lab: Compression
// Report from the palette shows a row for each with the missing latency marked, the charts and
// both layer maps; Refresh picks up a benchmark made since; Export HTML writes the file; the
// panel comes back after a window reload, and follows a dark theme.
// Screenshots: test-results/report-*.png. Run: npm run test:e2e.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { writeTokenData } from '../helpers/data';
import { acceptPathInFileDialog, builtVsix, findWebviewFrame, REPO_ROOT, reloadWindow, runCommand, screenshot, setColorTheme, useWorkbench } from './harness';

const READY = 'Compression Lab: Compression Report';

function cli(cwd: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'compression-lab.js'), ...args], { cwd, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`compression-lab ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

const bench = (ws: string, model: string) => cli(ws, 'bench', model, '--seq', '32', '--warmup', '1', '--runs', '10', '--threads', '1');

async function reportPanel(page: Page, rows: number, timeoutMs = 90_000): Promise<Frame> {
  return findWebviewFrame(page, async (f) => (await f.locator('[data-testid="report-row"]').count().catch(() => 0)) === rows, timeoutMs);
}

describe('the compression report in a real VS Code', { timeout: 900_000 }, () => {
  const { page, workspace, step } = useWorkbench({
    name: 'report',
    vsix: builtVsix(),
    readyCommand: READY,
    stepTimeoutMs: 200_000,
    // The report compares latency at the benchmark settings' first batch and length.
    settings: { 'compressionLab.benchmark.sequenceLengths': [32] },
    prepare: (ws: string) => {
      mkdirSync(path.join(ws, 'tiny'));
      mkdirSync(path.join(ws, 'data'));
      writeModel(path.join(ws, 'tiny', 'base.onnx'), buildEncoderClassifier({
        family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 4, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3,
      }));
      writeTokenData(path.join(ws, 'data', 'train.jsonl'), 1024, 7);
      writeTokenData(path.join(ws, 'data', 'dev.jsonl'), 128, 8);
      // A teacher worth distilling: fine-tuned first, so the students' accuracies differ from chance and from each other.
      cli(ws, 'train', '--model', 'tiny/base.onnx', '--data', 'data/train.jsonl', '--eval', 'data/dev.jsonl', '--out', 'tiny/model.onnx', '--max-steps', '400', '--batch-size', '32', '--lr', '3e-3', '--threads', '1');
      const common = ['--teacher', 'tiny/model.onnx', '--data', 'data/train.jsonl', '--eval', 'data/dev.jsonl', '--max-steps', '150', '--batch-size', '16', '--lr', '2e-3', '--threads', '1'];
      cli(ws, 'distill', '--recipe', 'distilbert', ...common, '--out', 'students/distil.onnx');
      cli(ws, 'distill', '--recipe', 'albert', ...common, '--out', 'students/albert.onnx');
      cli(ws, 'quantize', 'tiny/model.onnx', '--out', 'tiny/model.int8.onnx', '--eval', 'data/dev.jsonl', '--threads', '1');
      for (const m of ['tiny/model.onnx', 'students/distil.onnx', 'tiny/model.int8.onnx']) bench(ws, m);
    },
  });

  step('1 Compression Report from the palette: a row per model, the missing latency marked, the charts, the layer maps', async () => {
    // Room for the table: the report is a wide page.
    await runCommand(page(), 'View: Toggle Primary Side Bar Visibility');
    await runCommand(page(), READY);
    const f = await reportPanel(page(), 4);
    const names = (await f.locator('[data-testid="report-model"]').allInnerTexts()).map((n) => n.trim());
    assert.deepEqual(names, ['teacher', 'distilbert-style', 'albert-style', 'teacher int8']);
    assert.deepEqual(await f.locator('[data-testid="report-row"]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-role'))), ['teacher', 'student', 'student', 'quantized']);
    // The ALBERT student was never benchmarked: its latency is marked missing, with why.
    const albertP50 = f.locator('[data-testid="report-row"]').nth(2).locator('td[data-col="p50"]');
    assert.equal(await albertP50.getAttribute('data-mark'), 'missing');
    assert.match(await albertP50.getAttribute('title') ?? '', /no benchmark of this file at batch 1, seq 32/);
    assert.match(await f.locator('[data-testid="report-marks"]').innerText(), /missing/);
    // Measured figures: the teacher's p50 and every model's accuracy.
    assert.match(await f.locator('[data-testid="report-row"]').first().locator('td[data-col="p50"]').innerText(), /^\d/);
    for (let i = 0; i < 4; i++) assert.match(await f.locator('[data-testid="report-row"]').nth(i).locator('td[data-col="accuracy"]').innerText(), /%$/);
    assert.ok((await f.locator('[data-testid="report-row"][data-pareto="true"]').count()) >= 1, 'the frontier is marked');
    for (const chart of ['chart-tradeoff', 'chart-components']) {
      const canvas = f.locator(`.${chart} canvas`);
      await canvas.waitFor({ state: 'visible', timeout: 10_000 });
      const box = await canvas.boundingBox();
      assert.ok(box && box.width > 100 && box.height > 100, `${chart} is drawn`);
    }
    assert.equal(await f.locator('[data-testid="report-layer-map"]').count(), 2, 'both students\' layer maps');
    assert.ok((await f.locator('[data-testid="report-layer-map"] path.link').count()) >= 4);
    await screenshot(page(), 'report-1-panel');
    await f.locator('[data-testid="report-layer-maps"]').scrollIntoViewIfNeeded();
    await screenshot(page(), 'report-1-layer-maps');
  });

  step('2 Refresh picks up a benchmark made since; Export HTML writes the report', async () => {
    bench(workspace(), 'students/albert.onnx');
    let f = await reportPanel(page(), 4);
    await f.locator('[data-testid="refresh-button"]').click();
    f = await findWebviewFrame(page(), async (fr) => (await fr.locator('[data-testid="report-row"]').nth(2).locator('td[data-col="p50"]').getAttribute('data-mark').catch(() => 'x')) === null, 60_000);
    assert.match(await f.locator('[data-testid="report-row"]').nth(2).locator('td[data-col="p50"]').innerText(), /^\d/);
    await f.locator('[data-testid="export-html"]').click();
    const target = path.join(workspace(), 'compression-report.html');
    await acceptPathInFileDialog(page(), target);
    for (let i = 0; i < 100 && !existsSync(target); i++) await page().waitForTimeout(100);
    const html = readFileSync(target, 'utf8');
    assert.match(html, /<h1>Compression report<\/h1>/);
    assert.match(html, /albert-style/);
    assert.doesNotMatch(html, /<script/i, 'one self-contained file, no script');
    await screenshot(page(), 'report-2-refreshed');
  });

  step('3 after a window reload the report panel is back, built again from the runs', async () => {
    await reloadWindow(page(), READY);
    const f = await reportPanel(page(), 4, 120_000);
    assert.equal(await f.locator('[data-testid="report-row"]').nth(2).locator('td[data-col="p50"]').getAttribute('data-mark'), null);
    await screenshot(page(), 'report-3-restored');
  });

  step('4 in a dark theme the panel and its charts follow', async () => {
    await setColorTheme(page(), 'Dark Modern', 'vs-dark');
    const f = await reportPanel(page(), 4);
    await f.locator('.chart-tradeoff canvas').waitFor({ state: 'visible', timeout: 10_000 });
    await page().waitForTimeout(500);
    await screenshot(page(), 'report-4-dark');
  });
});
