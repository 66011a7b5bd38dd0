// Fine-tuning in a real VS Code (code-server) and Chromium: Fine-tune Model... from the palette on
// the open model card of a small classifier built with the project's builder; the form checks
// before it starts (a missing field is flagged beside it); the live run panel's step counter and
// loss curve move; Cancel stops the job and the partial run stays in the Runs view; after a
// window reload the panel is restored from the saved run; Open Run from the Runs view opens it.
// Screenshots: test-results/fine-tune-*.png. Run: npm run test:e2e.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { writeTokenData } from '../helpers/data';
import {
  builtVsix, findWebviewFrame, openFileFromExplorer, reloadWindow, runCommand, screenshot, startFromForm, useWorkbench, waitFor,
} from './harness';

const READY = 'Compression Lab: Fine-tune Model...';

async function runPanel(page: Page, timeoutMs = 60_000): Promise<Frame> {
  return findWebviewFrame(page, '[data-testid="run-view"]', timeoutMs);
}

async function stepShown(f: Frame): Promise<number> {
  return Number(await f.locator('[data-testid="run-step"]').getAttribute('data-step'));
}

async function lossPoints(f: Frame): Promise<number> {
  return Number(await f.locator('[data-testid="chart-loss"]').getAttribute('data-points') ?? 0);
}

/** A toolkit text field's value (the component's, which is what the form sends). */
async function fieldValue(f: Frame, id: string): Promise<string> {
  return f.locator(`[data-testid="input-${id}"]`).evaluate((el) => (el as HTMLElement & { value: string }).value);
}

async function type(f: Frame, id: string, value: string): Promise<void> {
  await f.locator(`[data-testid="input-${id}"] input`).fill(value);
}

function runFiles(ws: string): string[] {
  try {
    return readdirSync(path.join(ws, '.compression-lab', 'runs')).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
}

describe('fine-tuning in a real VS Code', { timeout: 600_000 }, () => {
  let stoppedAt = 0;
  const { page, workspace, step } = useWorkbench({
    name: 'fine-tune',
    vsix: builtVsix(),
    readyCommand: READY,
    stepTimeoutMs: 180_000,
    // One thread: the machine is shared, and the test needs a run that lasts, not a fast one.
    settings: { 'compressionLab.train.threads': 1 },
    prepare: (ws: string) => {
      mkdirSync(path.join(ws, 'tiny'));
      mkdirSync(path.join(ws, 'data'));
      writeModel(path.join(ws, 'tiny', 'model.onnx'), buildEncoderClassifier({
        family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3,
      }));
      // Pre-tokenized rows (input_ids and a label): no tokenizer needed. Not named train.*, so the
      // form cannot find them by itself and they are typed in.
      writeTokenData(path.join(ws, 'data', 'sst-tiny-train.jsonl'), 2048, 7);
      writeTokenData(path.join(ws, 'data', 'sst-tiny-dev.jsonl'), 64, 8);
    },
  });

  step('1 Fine-tune Model... on the open card: the form, checked before it starts', async () => {
    await openFileFromExplorer(page(), 'tiny/model.onnx');
    await findWebviewFrame(page(), '[data-testid="card-header"]', 45_000);
    // The card's title bar offers it too.
    await page().locator('.part.editor .editor-actions .action-label[aria-label="Fine-tune Model..."]').first().waitFor({ state: 'visible', timeout: 20_000 });
    await runCommand(page(), READY);
    const f = await findWebviewFrame(page(), '[data-testid="job-form"]', 30_000);
    assert.equal(await f.locator('[data-testid="form-title"]').innerText(), 'Fine-tune tiny');
    assert.equal(await fieldValue(f, 'model'), path.join(workspace(), 'tiny', 'model.onnx'));
    assert.equal(await fieldValue(f, 'out'), path.join(workspace(), 'tiny', 'tiny-finetuned.onnx'));
    // The worker read the model: its labels and vocabulary are under the field, its positions bound the length.
    await f.locator('[data-testid="note-model"]', { hasText: '3 labels' }).waitFor({ timeout: 30_000 });
    assert.match(await f.locator('[data-testid="note-model"]').innerText(), /vocabulary 500 · 64 positions/);
    await waitFor('max length 64', async () => (await fieldValue(f, 'maxLength')) === '64', 10_000);

    // Start with no training data: the problem shows beside the field and nothing starts.
    await f.locator('[data-testid="start-button"]').click();
    await f.locator('[data-testid="error-data"]', { hasText: 'is required' }).waitFor({ timeout: 10_000 });
    assert.equal(runFiles(workspace()).length, 0);

    await type(f, 'data', path.join(workspace(), 'data', 'sst-tiny-train.jsonl'));
    await type(f, 'eval', path.join(workspace(), 'data', 'sst-tiny-dev.jsonl'));
    await f.locator('[data-testid="input-length-maxSteps"]').click();
    await f.locator('[data-testid="field-maxSteps"]').waitFor({ state: 'visible', timeout: 5000 });
    await type(f, 'maxSteps', '100000');
    await type(f, 'batchSize', 'eight');
    await f.locator('[data-testid="error-batchSize"]', { hasText: "must be a number (got 'eight')" }).waitFor({ timeout: 10_000 });
    await type(f, 'batchSize', '8');
    await type(f, 'lr', '1e-3');
    await waitFor('the problems to clear', async () => (await f.locator('.form-field.invalid').count()) === 0, 10_000);
    await screenshot(page(), 'fine-tune-1-form');
    await startFromForm(f);
  });

  step('2 the live run panel: the step counter rises and the loss curve grows', async () => {
    const f = await runPanel(page());
    // The panel shows its placeholder title until the host's first message names the run.
    await waitFor('the run title', async () => (await f.locator('[data-testid="run-title"]').innerText()) === 'Fine-tune: tiny', 10_000);
    await waitFor('the first steps', async () => (await stepShown(f)) > 0 && (await lossPoints(f)) > 1, 90_000);
    const s1 = await stepShown(f);
    const p1 = await lossPoints(f);
    await waitFor('more steps', async () => (await stepShown(f)) > s1 + 20, 30_000);
    // The chart draws on the next animation frame after the counter moves.
    await waitFor('the curve to have more points', async () => (await lossPoints(f)) > p1, 5_000);
    assert.match(await f.locator('[data-testid="run-rate"]').innerText(), /steps\/s/);
    assert.equal(await f.locator('[data-testid="run-step-of"]').innerText(), 'of 100,000');
    assert.equal(await f.locator('[data-testid="run-status"]').getAttribute('data-status'), 'running');
    assert.ok(await f.locator('[data-testid="cancel-button"]').isVisible());
    // An evaluation after the first epoch (256 steps) fills the table.
    await f.locator('[data-testid="eval-row"]').first().waitFor({ timeout: 60_000 });
    // The run is on disk while it runs, as a reload would find it.
    await waitFor('the interim record', async () => runFiles(workspace()).length === 1, 10_000);
    await runCommand(page(), 'Compression Lab: Focus on Runs View');
    await page().locator('.monaco-list-row').filter({ hasText: 'fine-tune' }).filter({ hasText: 'running' }).first().waitFor({ state: 'visible', timeout: 20_000 });
    await screenshot(page(), 'fine-tune-2-live');
    await f.locator('[data-testid="eval-table"]').scrollIntoViewIfNeeded();
    await screenshot(page(), 'fine-tune-2-live-evaluation');
  });

  step('3 Cancel stops the job; the partial run stays, in the panel, on disk and in the Runs view', async () => {
    const f = await runPanel(page());
    await f.locator('[data-testid="cancel-button"]').click();
    await waitFor('the job to stop', async () => (await f.locator('[data-testid="run-status"]').getAttribute('data-status')) === 'cancelled', 60_000);
    stoppedAt = await stepShown(f);
    assert.ok(stoppedAt > 20);
    assert.match(await f.locator('[data-testid="idle-message"]').innerText(), /Stopped after [\d,]+ steps/);
    assert.ok(await f.locator('[data-testid="compare-button"]').isVisible(), 'the partial model can be compared');
    const files = runFiles(workspace());
    assert.equal(files.length, 1, files.join(', '));
    const record = JSON.parse(readFileSync(path.join(workspace(), '.compression-lab', 'runs', files[0]), 'utf8'));
    assert.equal(record.kind, 'train');
    assert.equal(record.status, 'cancelled');
    assert.equal(record.error, undefined, "the job's own record replaced the interim one");
    assert.equal(record.result.history[record.result.history.length - 1].step, stoppedAt);
    assert.ok(record.result.out && readdirSync(path.join(workspace(), 'tiny')).includes('tiny-finetuned.onnx'), 'the model as trained so far');
    await runCommand(page(), 'Compression Lab: Focus on Runs View');
    const row = page().locator('.monaco-list-row').filter({ hasText: 'fine-tune' }).filter({ hasText: 'cancelled' });
    await row.first().waitFor({ state: 'visible', timeout: 20_000 });
    await screenshot(page(), 'fine-tune-3-cancelled');
  });

  step('4 after a window reload the panel is restored with the saved run', async () => {
    await reloadWindow(page(), READY);
    const f = await runPanel(page(), 90_000);
    await waitFor('the saved run', async () => (await stepShown(f)) === stoppedAt, 30_000);
    assert.equal(await f.locator('[data-testid="run-status"]').getAttribute('data-status'), 'cancelled');
    assert.equal(await lossPoints(f), stoppedAt);
    assert.equal(await f.locator('[data-testid="cancel-button"]').count(), 0, 'no job to cancel');
    assert.ok((await f.locator('[data-testid="eval-row"]').count()) >= 1);
    await screenshot(page(), 'fine-tune-4-restored');
  });

  step('5 Open Run in the Runs view opens the run panel on a training run', async () => {
    await runCommand(page(), 'View: Close All Editors');
    await runCommand(page(), 'Compression Lab: Focus on Runs View');
    const row = page().locator('.monaco-list-row').filter({ hasText: 'fine-tune' }).first();
    await row.waitFor({ state: 'visible', timeout: 20_000 });
    await row.click();
    const f = await runPanel(page(), 30_000);
    await waitFor('the run', async () => (await stepShown(f)) === stoppedAt, 30_000);
  });
});
