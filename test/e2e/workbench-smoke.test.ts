// Proves the e2e harness: a real VS Code 1.100 workbench (code-server) in headless chromium, offline.
// Prerequisite: bash scripts/e2e/setup-code-server.sh   (cached; seconds when already installed)
// Run: node --import tsx --test test/e2e/workbench-smoke.test.ts
// Screenshots go to test-results/e2e-smoke-*.png. E2E_KEEP=1 keeps the temporary workspace and logs.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  activeEditorText, findWebviewFrame, isAlive, openFileFromExplorer, openFileQuick, processTree, runCommand, screenshot,
  setColorTheme, themeIdClass, themeType, useWorkbench, writeFiles,
} from './harness';

const HELLO = 'Hello from the Model Compression Lab e2e smoke test\nsecond line';

describe('VS Code workbench in a real browser (code-server + chromium)', { timeout: 300_000 }, () => {
  const { page, server, browser, step } = useWorkbench({
    name: 'e2e-smoke',
    stepTimeoutMs: 90_000,
    // Start light so switching to a dark theme is observable (1.100's default is Dark Modern).
    settings: { 'workbench.colorTheme': 'Default Light Modern' },
    prepare: (ws: string) => {
      writeFiles(ws, {
        'hello.txt': `${HELLO}\n`,
        'docs/notes.md': '# Smoke Notes\n\nRendered by the *built-in* Markdown preview.\n',
      });
    },
  });

  step('opens hello.txt from the explorer and shows its text', async () => {
    await openFileFromExplorer(page(), 'hello.txt');
    const text = await activeEditorText(page());
    assert.equal(text.trimEnd(), HELLO);
    assert.equal(await themeType(page()), 'vs', 'the seeded light theme is active');
    await screenshot(page(), 'e2e-smoke-1-light-editor');
  });

  step('switches to a dark color theme', async () => {
    const before = await themeIdClass(page());
    await setColorTheme(page(), 'Default Dark Modern', 'vs-dark');
    assert.equal(await themeType(page()), 'vs-dark');
    const after = await themeIdClass(page());
    assert.notEqual(after, before);
    assert.match(after, /dark_modern/);
    // The editor background really changed colour (not just a class name).
    const bg = await page().locator('.monaco-editor .monaco-editor-background').first().evaluate((el) => getComputedStyle(el).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    assert.ok(r + g + b < 3 * 80, `dark editor background, got ${bg}`);
    await screenshot(page(), 'e2e-smoke-2-dark-editor');
  });

  step('opens a nested file with Quick Open and finds the Markdown preview webview frame', async () => {
    await openFileQuick(page(), 'docs/notes.md');
    assert.match(await activeEditorText(page()), /# Smoke Notes/);
    await runCommand(page(), 'Markdown: Open Preview to the Side');
    const frame = await findWebviewFrame(page(), /Smoke Notes/, 45_000);
    assert.equal((await frame.locator('h1').first().textContent())?.trim(), 'Smoke Notes');
    assert.equal(await frame.locator('em').first().textContent(), 'built-in');
    await screenshot(page(), 'e2e-smoke-3-markdown-webview');
  });

  step('stop() ends code-server and every process it started', async () => {
    const s = server();
    const tree = [s.pid, ...processTree(s.pid)];
    assert.ok(tree.length >= 3, `code-server runs helper processes (extension host, watchers), got ${tree.length}`);
    await browser().close();
    await s.stop();
    const survivors = tree.filter(isAlive);
    assert.deepEqual(survivors, [], `processes left after stop(): ${survivors.join(', ')}`);
  });
});
