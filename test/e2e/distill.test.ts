// Distillation in a real VS Code (code-server) and Chromium, on a tiny teacher built with the
// project's builder and pre-tokenized rows (no tokenizer): Distill... from the palette on the
// open model card, the form's defaults from the teacher and its checks beside the fields, the
// live run panel's curve and layer map, Cancel keeping the partial run in the Runs view; then an
// ALBERT-style distillation started from the explorer's context menu, run to completion, and the
// comparison panel it opens on teacher vs student with the accuracy columns.
// Screenshots: test-results/distill-*.png. Run: npm run test:e2e.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { writeTokenData } from '../helpers/data';
import { builtVsix, findWebviewFrame, openFileFromExplorer, runCommand, screenshot, startFromForm, useWorkbench, waitFor } from './harness';

const READY = 'Compression Lab: Distill...';

async function fieldValue(f: Frame, id: string): Promise<string> {
  return f.locator(`[data-testid="input-${id}"]`).evaluate((el) => (el as HTMLElement & { value: string }).value);
}

async function type(f: Frame, id: string, value: string): Promise<void> {
  await f.locator(`[data-testid="input-${id}"] input`).fill(value);
}

async function runPanel(page: Page, title: string, timeoutMs = 90_000): Promise<Frame> {
  return findWebviewFrame(page, async (f) => (await f.locator('[data-testid="run-title"]').innerText().catch(() => '')) === title, timeoutMs);
}

const stepShown = async (f: Frame) => Number(await f.locator('[data-testid="run-step"]').getAttribute('data-step'));
const lossPoints = async (f: Frame) => Number(await f.locator('[data-testid="chart-loss"]').getAttribute('data-points') ?? 0);

function runRecords(ws: string): Array<{ file: string; kind: string; status: string; result: Record<string, unknown>; settings: Record<string, unknown> }> {
  const dir = path.join(ws, '.compression-lab', 'runs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith('.json')).sort().map((n) => ({ file: n, ...JSON.parse(readFileSync(path.join(dir, n), 'utf8')) }));
}

describe('distillation in a real VS Code', { timeout: 900_000 }, () => {
  const { page, workspace, step } = useWorkbench({
    name: 'distill',
    vsix: builtVsix(),
    readyCommand: READY,
    stepTimeoutMs: 240_000,
    settings: {
      // One thread: the machine is shared, and the cancelled run needs to last, not to be fast.
      'compressionLab.train.threads': 1,
      // The comparison after a distillation benchmarks both models: briefly, at one length.
      'compressionLab.benchmark.warmup': 1,
      'compressionLab.benchmark.runs': 10,
      'compressionLab.benchmark.sequenceLengths': [32],
      'compressionLab.benchmark.threads': [1],
    },
    prepare: (ws: string) => {
      mkdirSync(path.join(ws, 'tiny'));
      mkdirSync(path.join(ws, 'data'));
      writeModel(path.join(ws, 'tiny', 'model.onnx'), buildEncoderClassifier({
        family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 4, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3,
      }));
      writeTokenData(path.join(ws, 'data', 'sst-tiny-train.jsonl'), 2048, 7);
      writeTokenData(path.join(ws, 'data', 'sst-tiny-dev.jsonl'), 64, 8);
    },
  });

  step('1 Distill... on the open card: defaults from the teacher, the recipe\'s own fields, checks beside the fields', async () => {
    await openFileFromExplorer(page(), 'tiny/model.onnx');
    await findWebviewFrame(page(), '[data-testid="card-header"]', 45_000);
    await page().locator('.part.editor .editor-actions .action-label[aria-label="Distill..."]').first().waitFor({ state: 'visible', timeout: 20_000 });
    await runCommand(page(), READY);
    const f = await findWebviewFrame(page(), '[data-testid="job-form"][data-kind="distill"]', 30_000);
    assert.equal(await f.locator('[data-testid="form-title"]').innerText(), 'Distill tiny');
    assert.equal(await fieldValue(f, 'teacher'), path.join(workspace(), 'tiny', 'model.onnx'));
    // The worker read the teacher: its shape is under the field, the student's follows from it.
    await f.locator('[data-testid="note-teacher"]', { hasText: '4 layers' }).waitFor({ timeout: 30_000 });
    assert.match(await f.locator('[data-testid="note-teacher"]').innerText(), /hidden 32 · 2 heads · 3 labels/);
    await waitFor('half the teacher\'s layers', async () => (await fieldValue(f, 'layers')) === '2', 10_000);
    assert.equal(await fieldValue(f, 'out'), path.join(workspace(), 'tiny', 'tiny-distilbert.onnx'));
    assert.equal(await fieldValue(f, 'maxLength'), '64');
    assert.match(await f.locator('[data-testid="note-teacherLayers"]').innerText(), /Empty keeps 0, 3 of the teacher's 0\.\.3/);
    // DistilBERT's own fields show; TinyBERT's and ALBERT's do not.
    assert.ok(await f.locator('[data-testid="field-teacherLayers"]').isVisible());
    assert.ok(await f.locator('[data-testid="field-alphaCos"]').isVisible());
    assert.equal(await f.locator('[data-testid="field-hidden"]').isVisible(), false);
    assert.equal(await f.locator('[data-testid="field-groups"]').isVisible(), false);

    // Start with no data: the problem is beside the field, and nothing starts.
    await f.locator('[data-testid="start-button"]').click();
    await f.locator('[data-testid="error-data"]', { hasText: 'is required' }).waitFor({ timeout: 10_000 });
    assert.equal(runRecords(workspace()).length, 0);
    await type(f, 'data', path.join(workspace(), 'data', 'sst-tiny-train.jsonl'));
    await type(f, 'eval', path.join(workspace(), 'data', 'sst-tiny-dev.jsonl'));
    // A student deeper than the teacher, and loss weights that leave nothing to learn from.
    await type(f, 'layers', '9');
    await f.locator('[data-testid="error-layers"]', { hasText: "must be at most the teacher's 4 layers (got 9)" }).waitFor({ timeout: 10_000 });
    await type(f, 'layers', '2');
    await type(f, 'teacherLayers', '0,5');
    await f.locator('[data-testid="error-teacherLayers"]', { hasText: "layer 5 is outside the teacher's layers 0..3" }).waitFor({ timeout: 10_000 });
    await type(f, 'teacherLayers', '');
    await f.locator('[data-testid="input-length-maxSteps"]').click();
    await f.locator('[data-testid="field-maxSteps"]').waitFor({ state: 'visible', timeout: 5000 });
    await type(f, 'maxSteps', '100000');
    await type(f, 'batchSize', '8');
    await type(f, 'lr', '1e-3');
    await waitFor('the problems to clear', async () => (await f.locator('.form-field.invalid').count()) === 0, 10_000);
    await screenshot(page(), 'distill-1-form');
    await startFromForm(f);
  });

  step('2 the live run panel: the curve moves and the layer map is drawn from the job\'s start', async () => {
    const f = await runPanel(page(), 'Distill: tiny');
    await waitFor('the first steps', async () => (await stepShown(f)) > 0 && (await lossPoints(f)) > 1, 120_000);
    const s1 = await stepShown(f);
    const p1 = await lossPoints(f);
    await waitFor('more steps', async () => (await stepShown(f)) > s1 + 20, 60_000);
    // The chart draws on the next animation frame after the counter moves.
    await waitFor('the curve to have more points', async () => (await lossPoints(f)) > p1, 5_000);
    assert.equal(await f.locator('[data-testid="run-status"]').getAttribute('data-status'), 'running');
    // DistilBERT-style, 4 -> 2: student layers from teacher layers 0 and 3 (the embeddings too).
    const links = f.locator('[data-testid="layer-map"] path.link');
    await waitFor('the layer map', async () => (await links.count()) >= 2, 10_000);
    assert.ok(await f.locator('[data-testid="layer-map"]').isVisible());
    // The evaluation before training: accuracy, agreement with the teacher, KL.
    await f.locator('[data-testid="eval-row"]').first().waitFor({ timeout: 30_000 });
    await runCommand(page(), 'Compression Lab: Focus on Runs View');
    await page().locator('.monaco-list-row').filter({ hasText: 'distil' }).filter({ hasText: 'running' }).first().waitFor({ state: 'visible', timeout: 20_000 });
    await screenshot(page(), 'distill-2-live');
    await f.locator('[data-testid="layer-map"]').scrollIntoViewIfNeeded();
    await screenshot(page(), 'distill-2-live-layer-map');
  });

  step('3 Cancel: the job stops, the partial run stays in the panel, on disk and in the Runs view', async () => {
    const f = await runPanel(page(), 'Distill: tiny');
    await f.locator('[data-testid="cancel-button"]').click();
    await waitFor('the job to stop', async () => (await f.locator('[data-testid="run-status"]').getAttribute('data-status')) === 'cancelled', 90_000);
    const stoppedAt = await stepShown(f);
    assert.ok(stoppedAt > 20);
    assert.equal(await f.locator('[data-testid="compare-button"]').innerText(), 'Compare with the teacher');
    const records = runRecords(workspace());
    assert.equal(records.length, 1, records.map((r) => r.file).join(', '));
    assert.equal(records[0].kind, 'distill');
    assert.equal(records[0].status, 'cancelled');
    assert.ok(records[0].result.layerMap, 'the record keeps the layer map');
    assert.ok(existsSync(path.join(workspace(), 'tiny', 'tiny-distilbert.onnx')), 'the student as trained so far');
    await runCommand(page(), 'Compression Lab: Focus on Runs View');
    await page().locator('.monaco-list-row').filter({ hasText: 'distil' }).filter({ hasText: 'cancelled' }).first().waitFor({ state: 'visible', timeout: 20_000 });
    await screenshot(page(), 'distill-3-cancelled');
  });

  step('4 an ALBERT-style distillation from the explorer, to completion', async () => {
    await runCommand(page(), 'View: Close All Editors');
    await runCommand(page(), 'View: Show Explorer');
    // The folder is open since step 1. The files the cancelled run wrote may appear as the view
    // shows again, moving rows under the pointer: wait until the tree holds them and stays still.
    const names = () => page().locator('.explorer-folders-view .monaco-list-row .label-name').allInnerTexts();
    let last = '';
    let still = 0;
    await waitFor('the explorer to settle', async () => {
      const now = (await names()).join('|');
      still = now === last ? still + 1 : 0;
      last = now;
      return now.includes('tiny-distilbert.onnx') && still >= 4;
    }, 20_000);
    // The only model.onnx in the workspace is the teacher.
    const row = page().locator('.explorer-folders-view .monaco-list-row[aria-level="2"]').filter({ has: page().locator('.label-name', { hasText: /^\s*model\.onnx\s*$/ }) }).first();
    await row.click();
    await waitFor('the teacher selected', async () => /^\s*model\.onnx\s*$/.test(await page().locator('.explorer-folders-view .monaco-list-row.selected .label-name').first().innerText()), 5000);
    await page().locator('.explorer-folders-view .monaco-list-row.selected').first().click({ button: 'right' });
    const item = page().locator('.context-view .action-label, .monaco-menu .action-label').filter({ hasText: /^Distill\.\.\.$/ });
    await item.first().waitFor({ state: 'visible', timeout: 10_000 });
    await item.first().hover();
    await page().keyboard.press('Enter');
    const f = await findWebviewFrame(page(), '[data-testid="job-form"][data-kind="distill"]', 30_000);
    await f.locator('[data-testid="note-teacher"]', { hasText: '4 layers' }).waitFor({ timeout: 30_000 });
    // TinyBERT's feed-forward activation: GELU unless another is chosen from its dropdown.
    await f.locator('[data-testid="input-recipe-tinybert"]').click();
    await f.locator('[data-testid="field-activation"]').waitFor({ state: 'visible', timeout: 10_000 });
    await waitFor('TinyBERT defaults', async () => (await fieldValue(f, 'activation')) === 'gelu', 10_000);
    await f.locator('[data-testid="input-activation"]').click();
    await f.locator('[data-testid="input-activation"] vscode-option', { hasText: 'ReLU' }).click();
    await waitFor('ReLU chosen', async () => (await fieldValue(f, 'activation')) === 'relu', 5_000);
    await f.locator('[data-testid="field-activation"]').scrollIntoViewIfNeeded();
    await screenshot(page(), 'distill-4-tinybert-activation');
    await f.locator('[data-testid="input-recipe-albert"]').click();
    await f.locator('[data-testid="field-activation"]').waitFor({ state: 'hidden', timeout: 10_000 });
    // ALBERT's fields, with the teacher's depth and half its width for the embeddings.
    await f.locator('[data-testid="field-groups"]').waitFor({ state: 'visible', timeout: 10_000 });
    await waitFor('ALBERT defaults', async () => (await fieldValue(f, 'layers')) === '4' && (await fieldValue(f, 'embedding')) === '16', 10_000);
    assert.equal(await fieldValue(f, 'out'), path.join(workspace(), 'tiny', 'tiny-albert.onnx'));
    assert.equal(await f.locator('[data-testid="field-teacherLayers"]').isVisible(), false);
    assert.ok(await f.locator('[data-testid="field-alphaHidden"]').isVisible());
    await type(f, 'groups', '3');
    await f.locator('[data-testid="error-groups"]', { hasText: "must divide the student's 4 layers (got 3)" }).waitFor({ timeout: 10_000 });
    await type(f, 'groups', '2');
    await type(f, 'data', path.join(workspace(), 'data', 'sst-tiny-train.jsonl'));
    await type(f, 'eval', path.join(workspace(), 'data', 'sst-tiny-dev.jsonl'));
    await f.locator('[data-testid="input-length-maxSteps"]').click();
    await type(f, 'maxSteps', '60');
    await type(f, 'batchSize', '16');
    await type(f, 'lr', '1e-3');
    await waitFor('the problems to clear', async () => (await f.locator('.form-field.invalid').count()) === 0, 10_000);
    await f.locator('[data-testid="field-recipe"]').scrollIntoViewIfNeeded();
    await screenshot(page(), 'distill-4-albert-form');
    await startFromForm(f);

    const run = await runPanel(page(), 'Distill: tiny');
    await waitFor('the run to complete', async () => (await run.locator('[data-testid="run-status"]').getAttribute('data-status')) === 'complete', 200_000);
    assert.equal(await stepShown(run), 60);
    assert.ok((await run.locator('[data-testid="layer-map"] path.link').count()) >= 4, 'every student layer supervised by one of the teacher\'s');
    const done = runRecords(workspace()).find((r) => r.kind === 'distill' && r.status === 'complete');
    assert.ok(done, 'the complete run is saved');
    assert.equal(done.settings.recipe, 'albert');
    assert.ok(existsSync(path.join(workspace(), 'tiny', 'tiny-albert.onnx')));
  });

  step('5 the comparison opens on teacher vs student: params, size, p50, speed-up, accuracy and % of the teacher\'s', async () => {
    const f = await findWebviewFrame(page(), async (fr) => (await fr.locator('[data-testid="compare-row"]').count().catch(() => 0)) === 2, 180_000);
    const models = (await f.locator('[data-testid="compare-model"]').allInnerTexts()).map((m) => m.trim());
    assert.deepEqual(models, ['tiny', 'tiny-albert']);
    assert.equal(await f.locator('[data-testid="compare-row"]').first().getAttribute('data-baseline'), 'true', 'the teacher is the baseline');
    const headers = await f.locator('[data-testid="compare-table"] thead th').allInnerTexts();
    for (const h of ['Params', 'Size', 'p50 ms', 'Speed-up', 'Accuracy', 'Accuracy %']) assert.ok(headers.includes(h), `column ${h} in ${headers.join(', ')}`);
    const acc = await f.locator('[data-testid="compare-accuracy"]').allInnerTexts();
    assert.equal(acc.length, 2);
    for (const a of acc) assert.match(a, /^\d+\.\d\d%$/);
    assert.equal((await f.locator('[data-testid="compare-accuracy-pct"]').allInnerTexts())[0], '100.0%');
    assert.match((await f.locator('[data-testid="compare-accuracy-pct"]').allInnerTexts())[1], /^\d+\.\d%$/);
    assert.match(await f.locator('[data-testid="compare-speedup"]').nth(1).innerText(), /x$/);
    // Both benchmarks are saved runs too.
    assert.equal(runRecords(workspace()).filter((r) => r.kind === 'benchmark').length, 2);
    await runCommand(page(), 'Notifications: Clear All Notifications');
    // The accuracy columns are the table's last: show them.
    await f.locator('.table-wrap').first().evaluate((el) => { el.scrollLeft = el.scrollWidth; });
    await screenshot(page(), 'distill-5-compare');
    // The finished run's panel, behind the comparison: complete, with ALBERT's layer map.
    await page().locator('.part.editor .tabs-container .tab').filter({ hasText: 'Distill: tiny' }).first().click();
    const run = await runPanel(page(), 'Distill: tiny');
    await run.locator('[data-testid="layer-map"]').scrollIntoViewIfNeeded();
    await screenshot(page(), 'distill-4-albert-complete');
  });
});
