// Outputs never overwrite inputs: the same path, a symlink to an input, two outputs that are one
// file, or an output that is a folder are refused with a message naming the file and both roles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { checkOutputs } from '../../../src/core/io/output-guard';
import { OutputConflictError } from '../../../src/core/errors';

test('an output that is an input (directly, by a relative path or through a symlink) is refused', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-guard-'));
  try {
    const model = path.join(dir, 'model.onnx');
    writeFileSync(model, 'x');
    symlinkSync(model, path.join(dir, 'link.onnx'));
    mkdirSync(path.join(dir, 'folder'));
    const reads = [{ role: 'the model', file: model }];
    for (const out of [model, path.join(dir, 'sub', '..', 'model.onnx'), path.join(dir, 'link.onnx')]) {
      assert.throws(() => checkOutputs(reads, [{ role: 'the output model', file: out }]),
        (e: unknown) => e instanceof OutputConflictError && e.file === out && /the output model would overwrite the model this job reads/.test(e.message));
    }
    assert.throws(() => checkOutputs(reads, [{ role: 'the log', file: path.join(dir, 'a.txt') }, { role: 'the checkpoint', file: path.join(dir, 'a.txt') }]), /the checkpoint and the log are the same file/);
    assert.throws(() => checkOutputs(reads, [{ role: 'the output model', file: path.join(dir, 'folder') }]), /is a folder/);
    checkOutputs(reads, [{ role: 'the output model', file: path.join(dir, 'new.onnx') }, undefined]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
