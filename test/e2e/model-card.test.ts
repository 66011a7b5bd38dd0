// The model card in a real VS Code workbench (code-server 4.100 / VS Code 1.100) driven through
// Debian's Chromium: the packaged VSIX is installed, then a user's five steps. Screenshots of each
// step go to test-results/model-card-*.png.
// Run: npm run test:e2e (packages the VSIX and installs code-server first, cached).
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import {
  acceptPathInFileDialog, BERT_FAMILY, builtVsix, findWebviewFrame, openFileFromExplorer, runCommand, screenshot,
  setColorTheme, themeType, useWorkbench,
} from './harness';

/** The card's frame for a file: the one webview whose title line names it. */
async function card(page: Page, fileName: string, expect: RegExp): Promise<Frame> {
  return findWebviewFrame(page, async (f) => {
    const text = await f.locator('body').innerText({ timeout: 500 }).catch(() => '');
    return text.includes(fileName) && expect.test(text);
  }, 45_000);
}

async function testId(frame: Frame, id: string): Promise<string> {
  return (await frame.locator(`[data-testid="${id}"]`).first().innerText()).trim();
}

describe('model card in a real VS Code', { timeout: 600_000 }, () => {
  const { page, workspace, step } = useWorkbench({
    name: 'model-card',
    vsix: builtVsix(),
    readyCommand: 'Compression Lab: Inspect Model...',
    settings: { 'workbench.colorTheme': 'Default Light Modern' },
    prepare: (ws: string) => {
      for (const m of ['bert-mini', 'albert-mini', 'distilbert-mini', 'mobilebert-mini']) cpSync(path.join(BERT_FAMILY, m), path.join(ws, m), { recursive: true });
      writeFileSync(path.join(ws, 'broken.onnx'), readFileSync(path.join(BERT_FAMILY, 'bert-mini', 'model.onnx')).subarray(0, 4000));
    },
  });

  step('1 bert-mini model.onnx from the explorer shows BERT and 140,675 parameters', async () => {
    await openFileFromExplorer(page(), 'bert-mini/model.onnx');
    const f = await card(page(), 'model.onnx', /140,675/);
    assert.equal(await testId(f, 'family'), 'BERT');
    assert.equal(await testId(f, 'total-params'), '140,675');
    assert.equal(await f.locator('[data-testid="layer-row"]').count(), 2);
    await screenshot(page(), 'model-card-1-bert-onnx');
  });

  step('2 albert-mini model.safetensors shows 3 executed layers as one shared set', async () => {
    await openFileFromExplorer(page(), 'albert-mini/model.safetensors');
    const f = await card(page(), 'model.safetensors', /64,450/);
    assert.equal(await testId(f, 'family'), 'ALBERT');
    const rows = f.locator('[data-testid="layer-row"]');
    assert.equal(await rows.count(), 3);
    for (let i = 0; i < 3; i++) assert.equal(await rows.nth(i).getAttribute('data-shared'), 'true');
    assert.match(await rows.nth(0).innerText(), /same weights as layers 1, 2 \(used 3x\)/);
    await screenshot(page(), 'model-card-2-albert-shared');
  });

  step('3 Inspect Model... from the palette on distilbert-mini pytorch_model.bin shows 140,482', async () => {
    await runCommand(page(), 'Compression Lab: Inspect Model...');
    // VS Code's own file dialog in the browser: a quick input holding a path.
    await acceptPathInFileDialog(page(), path.join(workspace(), 'distilbert-mini', 'pytorch_model.bin'));
    const f = await card(page(), 'pytorch_model.bin', /140,482/);
    assert.equal(await testId(f, 'family'), 'DistilBERT');
    assert.equal(await testId(f, 'total-params'), '140,482');
    await screenshot(page(), 'model-card-3-inspect-command-bin');
  });

  step('4 a truncated .onnx shows a clear error, and a good model still opens afterwards', async () => {
    await openFileFromExplorer(page(), 'broken.onnx');
    const f = await card(page(), 'broken.onnx', /truncated|past the end|corrupt/);
    assert.match(await testId(f, 'error-file'), /broken\.onnx/);
    assert.match(await testId(f, 'error-message'), /truncated|past the end|corrupt/);
    await screenshot(page(), 'model-card-4-error');
    await openFileFromExplorer(page(), 'mobilebert-mini/model.onnx');
    const g = await card(page(), 'model.onnx', /38,914/);
    assert.equal(await testId(g, 'family'), 'MobileBERT');
    await screenshot(page(), 'model-card-4-after-error');
  });

  step('5 the card follows a switch to a dark theme', async () => {
    const f = await card(page(), 'model.onnx', /38,914/);
    const bg = () => f.locator('body').evaluate((el) => ({ cls: el.className, bg: getComputedStyle(el).backgroundColor }));
    const light = await bg();
    assert.match(light.cls, /vscode-light/);
    await setColorTheme(page(), 'Default Dark Modern', 'vs-dark');
    assert.equal(await themeType(page()), 'vs-dark');
    let dark = await bg();
    for (let i = 0; i < 50 && !/vscode-dark/.test(dark.cls); i++) { await page().waitForTimeout(100); dark = await bg(); }
    assert.match(dark.cls, /vscode-dark/);
    const lum = (s: string) => s.match(/\d+/g)!.slice(0, 3).map(Number).reduce((a, b) => a + b, 0);
    assert.ok(lum(dark.bg) < lum(light.bg), `background darkened: ${light.bg} -> ${dark.bg}`);
    await screenshot(page(), 'model-card-5-dark');
  });
});
