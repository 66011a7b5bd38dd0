// Quantization in a real VS Code (code-server) and Chromium, on a tiny classifier built with the
// project's builder: Quantize Model... from the explorer's context menu with evaluation rows and
// per-channel scales, the notification, the run record, the message with sizes, fusion and
// agreement, and Compare Latency (the comparison with the accuracy both models had on those
// rows); then from the model card's title bar, the output named so as not to overwrite the
// first, and Open Int8 Model. Screenshots: test-results/quantize-*.png. Run: npm run test:e2e.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { writeTokenData } from '../helpers/data';
import { builtVsix, findWebviewFrame, openFileFromExplorer, revealInExplorer, runCommand, screenshot, startFromForm, useWorkbench, waitForEditorTab } from './harness';

const READY = 'Compression Lab: Quantize Model...';

async function fieldValue(f: Frame, id: string): Promise<string> {
  return f.locator(`[data-testid="input-${id}"]`).evaluate((el) => (el as HTMLElement & { value: string }).value);
}

async function quantizeForm(page: Page): Promise<Frame> {
  return findWebviewFrame(page, '[data-testid="job-form"][data-kind="quantize"]', 30_000);
}

/** The end message's toast, and its button. */
function toast(page: Page, text: RegExp) {
  return page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
}

function records(ws: string): Array<Record<string, unknown> & { kind: string; status: string; result: Record<string, unknown> }> {
  const dir = path.join(ws, '.compression-lab', 'runs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.endsWith('.json')).sort().map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')));
}

describe('quantization in a real VS Code', { timeout: 600_000 }, () => {
  const { page, workspace, step } = useWorkbench({
    name: 'quantize',
    vsix: builtVsix(),
    readyCommand: READY,
    stepTimeoutMs: 180_000,
    settings: {
      'compressionLab.benchmark.warmup': 1,
      'compressionLab.benchmark.runs': 10,
      'compressionLab.benchmark.sequenceLengths': [32],
      'compressionLab.benchmark.threads': [1],
    },
    prepare: (ws: string) => {
      mkdirSync(path.join(ws, 'tiny'));
      writeModel(path.join(ws, 'tiny', 'model.onnx'), buildEncoderClassifier({
        family: 'bert', vocabSize: 500, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 128, maxPositions: 64, numLabels: 3,
      }));
      writeTokenData(path.join(ws, 'tiny', 'dev.jsonl'), 64, 8);
    },
  });

  step('1 Quantize Model... from the explorer, with evaluation rows: progress, the record, the message', async () => {
    const row = await revealInExplorer(page(), 'tiny/model.onnx');
    await row.click({ button: 'right' });
    const item = page().locator('.context-view .action-label, .monaco-menu .action-label').filter({ hasText: /^Quantize Model\.\.\.$/ });
    await item.first().waitFor({ state: 'visible', timeout: 10_000 });
    await item.first().hover();
    await page().keyboard.press('Enter');
    const f = await quantizeForm(page());
    assert.equal(await f.locator('[data-testid="form-title"]').innerText(), 'Quantize tiny');
    assert.equal(await fieldValue(f, 'out'), path.join(workspace(), 'tiny', 'model.int8.onnx'));
    // The output cannot be the model itself: said beside the field.
    await f.locator('[data-testid="input-out"] input').fill(path.join(workspace(), 'tiny', 'model.onnx'));
    await f.locator('[data-testid="error-out"]').filter({ hasText: /model/ }).waitFor({ timeout: 10_000 });
    await f.locator('[data-testid="input-out"] input').fill(path.join(workspace(), 'tiny', 'model.int8.onnx'));
    await f.locator('[data-testid="input-eval"] input').fill(path.join(workspace(), 'tiny', 'dev.jsonl'));
    await f.locator('[data-testid="input-perChannel-channel"]').click();
    for (let i = 0; i < 50 && (await f.locator('.form-field.invalid').count()) > 0; i++) await page().waitForTimeout(200);
    assert.equal(await f.locator('.form-field.invalid').count(), 0);
    await screenshot(page(), 'quantize-1-form');
    await startFromForm(f);

    const done = toast(page(), /Quantized tiny/);
    await done.waitFor({ state: 'visible', timeout: 120_000 });
    const text = await done.innerText();
    assert.match(text, /→/, 'sizes before and after');
    assert.match(text, /DynamicQuantizeMatMul|MatMulIntegerToFloat/, 'what onnxruntime fuses it into');
    assert.match(text, /agrees with the float model on [\d.]+% of 64 rows/);
    await screenshot(page(), 'quantize-2-done');
    const q = records(workspace()).filter((r) => r.kind === 'quantize');
    assert.equal(q.length, 1);
    assert.equal(q[0].status, 'complete');
    assert.ok(existsSync(path.join(workspace(), 'tiny', 'model.int8.onnx')));

    // Compare Latency: Compare Models... on the float model (the baseline) and the int8 one.
    await done.locator('.monaco-button', { hasText: 'Compare Latency' }).click();
    const start = page().locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: 'Start' }).first();
    await start.waitFor({ state: 'visible', timeout: 20_000 });
    await start.click();
    const cmp = await findWebviewFrame(page(), async (fr) => (await fr.locator('[data-testid="compare-row"]').count().catch(() => 0)) === 2, 120_000);
    const models = (await cmp.locator('[data-testid="compare-model"]').allInnerTexts()).map((m) => m.trim());
    assert.deepEqual(models, ['tiny', 'model.int8']);
    const acc = await cmp.locator('[data-testid="compare-accuracy"]').allInnerTexts();
    assert.equal(acc.length, 2, 'the accuracy both had on the evaluation rows');
    await runCommand(page(), 'Compression Lab: Focus on Runs View');
    await page().locator('.monaco-list-row').filter({ hasText: 'quantize' }).first().waitFor({ state: 'visible', timeout: 20_000 });
    // The accuracy columns are the table's last: show them.
    await cmp.locator('.table-wrap').first().evaluate((el) => { el.scrollLeft = el.scrollWidth; });
    await screenshot(page(), 'quantize-3-compare-latency');
  });

  step('2 from the model card\'s title bar: a second output beside the first, then Open Int8 Model', async () => {
    await runCommand(page(), 'View: Close All Editors');
    await openFileFromExplorer(page(), 'tiny/model.onnx');
    await findWebviewFrame(page(), '[data-testid="card-header"]', 45_000);
    const action = page().locator('.part.editor .editor-actions .action-label[aria-label="Quantize Model..."]').first();
    await action.waitFor({ state: 'visible', timeout: 20_000 });
    await action.click();
    const f = await quantizeForm(page());
    assert.equal(await fieldValue(f, 'out'), path.join(workspace(), 'tiny', 'model.int8-2.onnx'), 'the first is not overwritten');
    await startFromForm(f);
    const done = toast(page(), /Quantized tiny/);
    await done.waitFor({ state: 'visible', timeout: 120_000 });
    assert.doesNotMatch(await done.innerText(), /agrees/, 'no evaluation rows this time');
    await done.locator('.monaco-button', { hasText: 'Open Int8 Model' }).click();
    await waitForEditorTab(page(), 'model.int8-2.onnx', 30_000);
    // The int8 model's card, with its Quantization section (what is quantized, bytes before and after).
    const card = await findWebviewFrame(page(), '[data-testid="quantization"]', 45_000);
    assert.match(await card.locator('[data-testid="quantization-headline"]').innerText(), /\S/);
    assert.equal(records(workspace()).filter((r) => r.kind === 'quantize').length, 2);
    await card.locator('[data-testid="quantization"]').scrollIntoViewIfNeeded();
    await screenshot(page(), 'quantize-4-int8-card');
  });
});
