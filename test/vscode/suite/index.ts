// Runs inside the extension host (bundled to test/vscode/suite/index.js by `npm run test:vscode`).
// It drives the real extension through VS Code's API and reads what each card was sent through
// the extension's test-mode command.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

type Sent = { type: 'card'; card: { family: string; params: { total: number }; layers: Array<{ sharedWith?: number[] }> } } | { type: 'error'; problem: string };

async function lastSent(uri: vscode.Uri, timeoutMs = 30_000): Promise<Sent> {
  const t0 = Date.now();
  for (;;) {
    const sent = await vscode.commands.executeCommand<Sent | undefined>('compressionLab.test.lastSent', uri);
    if (sent) return sent;
    if (Date.now() - t0 > timeoutMs) throw new Error(`no card for ${uri.fsPath} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function run(): Promise<void> {
  const root = vscode.workspace.workspaceFolders![0].uri;
  const scenarios: Array<[string, () => Promise<void>]> = [
    ['bert-mini/model.onnx opens as a card: BERT, 140,675', async () => {
      const uri = vscode.Uri.joinPath(root, 'bert-mini', 'model.onnx');
      await vscode.commands.executeCommand('vscode.open', uri);
      const s = await lastSent(uri);
      assert.equal(s.type, 'card');
      if (s.type === 'card') { assert.equal(s.card.family, 'BERT'); assert.equal(s.card.params.total, 140675); }
    }],
    ['albert-mini/model.safetensors: three executed layers, one shared set', async () => {
      const uri = vscode.Uri.joinPath(root, 'albert-mini', 'model.safetensors');
      await vscode.commands.executeCommand('vscode.open', uri);
      const s = await lastSent(uri);
      assert.equal(s.type, 'card');
      if (s.type === 'card') { assert.equal(s.card.layers.length, 3); assert.ok(s.card.layers.every((l) => l.sharedWith?.length === 2)); }
    }],
    ['Inspect Model on distilbert-mini/pytorch_model.bin: 140,482', async () => {
      const uri = vscode.Uri.joinPath(root, 'distilbert-mini', 'pytorch_model.bin');
      await vscode.commands.executeCommand('compressionLab.inspectModel', uri);
      const s = await lastSent(uri);
      assert.equal(s.type, 'card');
      if (s.type === 'card') assert.equal(s.card.params.total, 140482);
    }],
    ['a truncated .onnx shows an error; a good model opens afterwards', async () => {
      const bad = vscode.Uri.joinPath(root, 'truncated.onnx');
      const good = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(root, 'bert-mini', 'model.onnx'));
      await vscode.workspace.fs.writeFile(bad, good.subarray(0, 4000));
      await vscode.commands.executeCommand('vscode.open', bad);
      const s = await lastSent(bad);
      assert.equal(s.type, 'error');
      const again = vscode.Uri.joinPath(root, 'bert-mini', 'model.safetensors');
      await vscode.commands.executeCommand('vscode.open', again);
      assert.equal((await lastSent(again)).type, 'card');
    }],
  ];
  const failures: string[] = [];
  for (const [name, fn] of scenarios) {
    try { await fn(); console.log(`ok - ${name}`); } catch (e) { failures.push(name); console.log(`not ok - ${name}: ${(e as Error).message}`); }
  }
  console.log(`${scenarios.length - failures.length} passed, ${failures.length} failed`);
  if (failures.length) throw new Error(`${failures.length} scenario(s) failed: ${failures.join('; ')}`);
}
