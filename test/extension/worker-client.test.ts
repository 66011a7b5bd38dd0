import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { WorkerClient, WorkerExitedError } from '../../src/extension/worker-client';
import { BERT_FAMILY, requireShared } from '../helpers/paths';

requireShared();
const WORKER = path.resolve(__dirname, '../../dist/worker.js');
const clients: WorkerClient[] = [];
after(() => { for (const c of clients) c.dispose(); });

function client(): WorkerClient {
  assert.ok(existsSync(WORKER), 'dist/worker.js is built (npm run build)');
  const c = new WorkerClient(WORKER);
  clients.push(c);
  return c;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

test('the worker process inspects a model, with progress, and answers FLOPs at another length', async () => {
  const c = client();
  const messages: string[] = [];
  const card = await c.request('inspect', { path: path.join(BERT_FAMILY, 'albert-mini', 'model.onnx'), seq: 128 }, { onProgress: (m) => messages.push(m) });
  assert.equal(card.family, 'ALBERT');
  assert.equal(card.params.total, 64450);
  assert.ok(messages.length >= 2, `progress messages: ${messages}`);
  assert.ok(c.pid && c.pid !== process.pid, 'ran in another process');
  const f = await c.request('flops', { path: path.join(BERT_FAMILY, 'albert-mini', 'model.onnx'), seq: 64 });
  assert.equal(f.seq, 64);
  assert.ok(f.total < card.flops.total);
});

test('a corrupt file is an error reply naming the file; the worker survives', async () => {
  const c = client();
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-worker-'));
  const bad = path.join(dir, 'cut.onnx');
  writeFileSync(bad, readFileSync(path.join(BERT_FAMILY, 'bert-mini', 'model.onnx')).subarray(0, 3000));
  await assert.rejects(c.request('inspect', { path: bad, seq: 128 }), (e: Error) => e.message.startsWith(`${bad}: `));
  const pid = c.pid;
  const ok = await c.request('inspect', { path: path.join(BERT_FAMILY, 'bert-mini', 'model.onnx'), seq: 128 });
  assert.equal(ok.params.total, 140675);
  assert.equal(c.pid, pid, 'same worker');
});

test('a worker killed mid-request fails the request at once and is restarted for the next', async () => {
  const c = client();
  await c.request('inspect', { path: path.join(BERT_FAMILY, 'bert-mini', 'model.safetensors'), seq: 8 });
  const pid = c.pid!;
  const pending = c.request('inspect', { path: path.join(BERT_FAMILY, 'mobilebert-mini', 'model.onnx'), seq: 8 });
  process.kill(pid, 'SIGKILL');
  const t0 = Date.now();
  await assert.rejects(pending, (e: Error) => e instanceof WorkerExitedError || /stopped/.test(e.message));
  assert.ok(Date.now() - t0 < 1000, 'reported within a second');
  const again = await c.request('inspect', { path: path.join(BERT_FAMILY, 'bert-mini', 'model.safetensors'), seq: 8 });
  assert.equal(again.params.total, 140675);
  assert.notEqual(c.pid, pid);
  c.dispose();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(alive(pid), false);
});
