// Benchmarks in a real VS Code (code-server) and Chromium: Benchmark Model... from the palette on
// an open model card, with progress, the run in the Runs view and its file on disk; then Compare
// Models... on two models chosen in the explorer, with both rows and the charts. Screenshots go
// to test-results/benchmark-*.png. Last, a comparison whose page never starts (its frame refused
// once) is opened again in its place by the panels' load watchdog. Run: npm run test:e2e.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import {
  acceptPathInFileDialog, BERT_FAMILY, builtVsix, findWebviewFrame, openFileFromExplorer, reloadWindow, revealInExplorer, runCommand, screenshot,
  useWorkbench,
} from './harness';

async function comparePanel(page: Page, rows: number): Promise<Frame> {
  return findWebviewFrame(page, async (f) => (await f.locator('[data-testid="compare-row"]').count().catch(() => 0)) === rows, 120_000);
}

/** The benchmark settings form is a quick pick: accept "Start". */
async function acceptStartRow(page: Page): Promise<void> {
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: 'Start' }).first();
  await row.waitFor({ state: 'visible', timeout: 20_000 });
  await row.click();
}

describe('benchmarks in a real VS Code', { timeout: 600_000 }, () => {
  const { page, workspace, step } = useWorkbench({
    name: 'benchmark',
    vsix: builtVsix(),
    readyCommand: 'Compression Lab: Benchmark Model...',
    stepTimeoutMs: 180_000,
    settings: {
      'compressionLab.benchmark.warmup': 2,
      'compressionLab.benchmark.runs': 400,
      'compressionLab.benchmark.sequenceLengths': [16, 64],
      'compressionLab.benchmark.threads': [1],
    },
    prepare: (ws: string) => {
      for (const m of ['bert-mini', 'distilbert-mini']) cpSync(path.join(BERT_FAMILY, m), path.join(ws, m), { recursive: true });
    },
  });

  step('1 Benchmark Model... on the open card: progress, a saved run, the Runs view', async () => {
    await openFileFromExplorer(page(), 'bert-mini/model.onnx');
    await findWebviewFrame(page(), /140,675/, 45_000);
    await runCommand(page(), 'Compression Lab: Benchmark Model...');
    await acceptStartRow(page());
    // Progress shows in a notification while the worker measures.
    const toast = page().locator('.notifications-toasts .notification-toast').filter({ hasText: /bert-mini: batch 1, seq/ });
    await toast.first().waitFor({ state: 'visible', timeout: 60_000 });
    await screenshot(page(), 'benchmark-1-progress');
    const f = await comparePanel(page(), 1);
    assert.match(await f.locator('[data-testid="compare-model"]').first().innerText(), /bert-mini/);
    assert.match(await f.locator('[data-testid="compare-p50"]').first().innerText(), /\d/);
    const runsDir = path.join(workspace(), '.compression-lab', 'runs');
    const files = readdirSync(runsDir).filter((n) => n.endsWith('.json'));
    assert.equal(files.length, 1, 'one run file on disk');
    const run = JSON.parse(readFileSync(path.join(runsDir, files[0]), 'utf8'));
    assert.equal(run.kind, 'benchmark');
    assert.equal(run.status, 'complete');
    assert.deepEqual(run.result.results.map((r: { seq: number }) => r.seq), [16, 64]);
    assert.equal(run.result.results[0].stats.runs, 400);
    await runCommand(page(), 'Compression Lab: Focus on Runs View');
    const item = page().locator('.monaco-list-row').filter({ hasText: 'bert-mini' }).filter({ hasText: 'p50' });
    await item.first().waitFor({ state: 'visible', timeout: 20_000 });
    await screenshot(page(), 'benchmark-1-result-and-runs-view');
  });

  step('2 Compare Models... on two models from the explorer: both rows and the charts', async () => {
    await runCommand(page(), 'View: Show Explorer');
    // Expand both folders first: clicking a folder to expand it would select it too.
    await revealInExplorer(page(), 'distilbert-mini/model.onnx');
    const a = await revealInExplorer(page(), 'bert-mini/model.onnx');
    await a.click();
    // Opening a file moves focus to its editor; give it back to the explorer, keeping the selection.
    await runCommand(page(), 'File: Focus on Files Explorer');
    const b = await revealInExplorer(page(), 'distilbert-mini/model.onnx');
    await b.click({ modifiers: ['Control'] });
    const selected = page().locator('.explorer-folders-view .monaco-list-row.selected');
    for (let i = 0; i < 50 && (await selected.count()) !== 2; i++) await page().waitForTimeout(100);
    assert.equal(await selected.count(), 2, 'both models selected in the explorer');
    await b.click({ button: 'right' });
    const item = page().locator('.context-view .action-label, .monaco-menu .action-label').filter({ hasText: 'Compare Models...' });
    await item.first().waitFor({ state: 'visible', timeout: 10_000 });
    // The workbench's menus act on the focused item: hover it, then Enter.
    await item.first().hover();
    await page().keyboard.press('Enter');

    await acceptStartRow(page());
    const f = await comparePanel(page(), 2);
    const models = await f.locator('[data-testid="compare-model"]').allInnerTexts();
    assert.deepEqual(models.map((m) => m.trim().split(/\s/)[0]).sort(), ['bert-mini', 'distilbert-mini']);
    assert.equal(await f.locator('[data-testid="compare-row"][data-baseline="true"]').count(), 1);
    assert.match(await f.locator('[data-testid="compare-speedup"]').nth(1).innerText(), /x/);
    for (const chart of ['latency-chart', 'seq-chart', 'scatter-chart']) {
      const canvas = f.locator(`[data-testid="${chart}"] canvas, canvas[data-testid="${chart}"]`).first();
      await canvas.waitFor({ state: 'visible', timeout: 10_000 });
      const box = await canvas.boundingBox();
      assert.ok(box && box.width > 100 && box.height > 100, `${chart} is drawn`);
    }
    assert.equal(readdirSync(path.join(workspace(), '.compression-lab', 'runs')).filter((n) => n.endsWith('.json')).length, 3);
    await screenshot(page(), 'benchmark-2-compare');
  });

  step('3 Export CSV from the comparison writes the table', async () => {
    const f = await comparePanel(page(), 2);
    await f.locator('[data-testid="export-csv"]').first().click();
    // VS Code's save dialog in the browser: a quick input holding the proposed path.
    await acceptPathInFileDialog(page(), path.join(workspace(), 'comparison.csv'));
    const csv = path.join(workspace(), 'comparison.csv');
    for (let i = 0; i < 100 && !existsSync(csv); i++) await page().waitForTimeout(100);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(lines.length, 3, 'header and two models');
    assert.match(lines[0], /^model,path,baseline,batch,seq,threads,params/);
    assert.ok(lines.slice(1).some((l) => l.startsWith('distilbert-mini,')));
  });

  step('4 after a window reload the comparison panel is restored from its runs', async () => {
    await reloadWindow(page(), 'Compression Lab: Benchmark Model...');
    const f = await comparePanel(page(), 2);
    const models = await f.locator('[data-testid="compare-model"]').allInnerTexts();
    assert.deepEqual(models.map((m) => m.trim().split(/\s/)[0]).sort(), ['bert-mini', 'distilbert-mini']);
    await screenshot(page(), 'benchmark-4-restored-after-reload');
  });

  step('5 a comparison whose page never starts is opened again in its place, and shows its run', async () => {
    await runCommand(page(), 'View: Close All Editors');
    await runCommand(page(), 'Compression Lab: Focus on Runs View');
    // A webview frame that never loads (what Chromium's service-worker race leaves in a browser
    // VS Code): the next panel's outer page is refused once.
    let refused = 0;
    const pattern = /\/webview\/browser\/pre\/index\.html/;
    await page().route(pattern, async (route) => {
      if (refused === 0) { refused++; await route.abort(); } else await route.continue();
    });
    try {
      const row = page().locator('.monaco-list-row').filter({ hasText: /^\s*bert-mini\s*benchmark/ }).first();
      await row.waitFor({ state: 'visible', timeout: 20_000 });
      const t0 = Date.now();
      await row.click();
      const f = await comparePanel(page(), 1);
      const waited = Date.now() - t0;
      assert.equal(refused, 1, 'the first page was refused');
      assert.ok(waited >= 10_000, `shown after the watchdog's time, not at once (${waited} ms)`);
      assert.deepEqual((await f.locator('[data-testid="compare-model"]').allInnerTexts()).map((m) => m.trim().split(/\s/)[0]), ['bert-mini']);
      // The silent panel was closed: one tab for the run.
      const tabs = page().locator('.part.editor .tabs-container .tab').filter({ hasText: 'Run: bert-mini' });
      assert.equal(await tabs.count(), 1);
      await screenshot(page(), 'benchmark-5-reopened');
    } finally {
      await page().unroute(pattern);
    }
  });
});
