// Checkpoints: the safetensors writer (read back and validated by the project's reader), a
// bit-exact round trip, resuming on the same trajectory, and errors that name the file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { safetensorsReader } from '../../../src/core/readers/safetensors-reader';
import { loadTensor } from '../../../src/core/tensor-values';
import { encodeSafetensors, writeSafetensors } from '../../../src/core/io/safetensors-writer';
import { CheckpointError, loadCheckpoint, readCheckpointInfo, saveCheckpoint } from '../../../src/core/training/checkpoint';
import { AdamW } from '../../../src/core/training/optim/adamw';
import { Sgd } from '../../../src/core/training/optim/sgd';
import { linearWarmupDecay } from '../../../src/core/training/optim/schedule';
import type { Gradients, Optimizer, Parameter, TrainingCheckpoint } from '../../../src/core/training/types';

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ckpt-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('safetensors writer', () => {
  it('writes F32/F64/I64 with metadata; the reader validates it and reads the values back', async () => {
    const file = path.join(tmp, 'mixed.safetensors');
    const f32 = Float32Array.from([1.5, -0, NaN, 3e-45, Infinity]); // odd length: 20 bytes
    const f64 = Float64Array.from([Math.PI, -1e300, 2 ** -1074]);
    const i64 = BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n]);
    const scalar = Float32Array.from([7]);
    writeSafetensors(file, [
      { name: 'a.f32', shape: [5], data: f32 },
      { name: 'z.f64', shape: [3, 1], data: f64 },
      { name: 'b.i64', shape: [3], data: i64 },
      { name: 'scalar', shape: [], data: scalar },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
    ], { note: 'hello', 'ünïcode': '✓' });
    const model = await safetensorsReader.read(file);
    assert.deepEqual(model.metadata, { note: 'hello', 'ünïcode': '✓' });
    assert.deepEqual(model.warnings, []);

    // The header is padded so the data starts on 8 bytes; 8-byte tensors come first, so all are aligned.
    const raw = readFileSync(file);
    const n = Number(raw.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const byOffset = [...model.tensors].sort((x, y) => (x.data as { offset: number }).offset - (y.data as { offset: number }).offset);
    let expected = 8 + n;
    for (const t of byOffset) {
      const d = t.data as { kind: string; offset: number; length: number };
      assert.equal(d.kind, 'raw');
      assert.equal(d.offset, expected, `${t.name} starts where the previous one ended`);
      assert.equal(d.offset % (t.dtype === 'float32' ? 4 : 8), 0, `${t.name} is aligned to its element size`);
      expected += d.length;
    }
    assert.equal(expected, raw.length, 'the tensors end at the end of the file');
    assert.deepEqual(byOffset.map((t) => t.name), ['b.i64', 'z.f64', 'a.f32', 'empty', 'scalar']);

    const get = (name: string) => loadTensor(model.tensors.find((t) => t.name === name) as never).values as ArrayBufferView;
    assert.ok(bytes(get('a.f32')).equals(bytes(f32)), 'float32 bit-exact, NaN and -0 included');
    assert.ok(bytes(get('z.f64')).equals(bytes(f64)));
    assert.deepEqual(get('b.i64'), i64);
    assert.deepEqual(model.tensors.find((t) => t.name === 'scalar')?.shape, []);
    assert.deepEqual(model.tensors.find((t) => t.name === 'z.f64')?.shape, [3, 1]);
  });

  it('refuses bad input, and leaves no temporary file', () => {
    assert.throws(() => encodeSafetensors([{ name: 'x', shape: [2, 2], data: new Float32Array(3) }]), /shape \[2, 2\] holds 4 values but the data has 3/);
    assert.throws(() => encodeSafetensors([{ name: 'x', shape: [1], data: new Float32Array(1) }, { name: 'x', shape: [1], data: new Float32Array(1) }]), /listed twice/);
    assert.throws(() => encodeSafetensors([{ name: '__metadata__', shape: [1], data: new Float32Array(1) }]), /__metadata__/);
    assert.throws(() => encodeSafetensors([{ name: 'x', shape: [1], data: new Int32Array(1) as never }]), /Float32Array, Float64Array or BigInt64Array/);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.tmp-')), []);
  });
});

// ---- a small training problem: a weighted quadratic, loss = 0.5 * sum a_i (p_i - t_i)^2 ----

const TARGET = { w: [0.3, -1.2, 2.5, 0.01, -0.7, 4], b: [1, -1, 0.5] };
const A = { w: [1, 3, 0.5, 10, 2, 0.1], b: [4, 1, 0.25] };

function freshParams(): Parameter[] {
  return [
    { name: 'encoder/dense.weight', shape: [2, 3], values: Float32Array.from([0, 0.5, -0.5, 1, 2, -3]) },
    { name: 'encoder/dense.bias', shape: [3], values: Float32Array.from([0.1, 0.2, 0.3]) },
  ];
}

function gradients(params: Parameter[]): Gradients {
  const g: Gradients = new Map();
  for (const p of params) {
    const key = p.name.endsWith('weight') ? 'w' : 'b';
    g.set(p.name, Float32Array.from(p.values, (v, i) => A[key][i] * (v - TARGET[key][i])));
  }
  return g;
}

const schedule = linearWarmupDecay({ peakLr: 0.05, warmupSteps: 2, totalSteps: 10 });

function train(params: Parameter[], opt: Optimizer, from: number, to: number): void {
  for (let s = from; s < to; s++) opt.step(params, gradients(params), schedule.lrAt(s));
}

function checkpointOf(params: Parameter[], opt: Optimizer, step: number): TrainingCheckpoint {
  return { step, epoch: 1, params, optimizer: opt.state(), rngState: { seed: 42, dataEpoch: 1, dataPosition: 17 }, meta: { model: 'quadratic', note: 'a "quoted" note' } };
}

describe('checkpoints', () => {
  for (const [kind, make] of [['adamw', () => new AdamW({ weightDecay: 0.1 })], ['sgd', () => new Sgd({ momentum: 0.9, weightDecay: 0.01 })]] as const) {
    it(`${kind}: resuming from a checkpoint continues the same trajectory, bit for bit`, async () => {
      const straight = freshParams();
      const opt1 = make();
      train(straight, opt1, 0, 8);

      const first = freshParams();
      const opt2 = make();
      train(first, opt2, 0, 4);
      const file = path.join(tmp, `${kind}.safetensors`);
      saveCheckpoint(file, checkpointOf(first, opt2, 4));

      const ckpt = await loadCheckpoint(file, { expectParams: freshParams(), expectOptimizer: kind });
      const opt3 = make();
      opt3.load(ckpt.optimizer);
      train(ckpt.params, opt3, ckpt.step, 8);
      for (let k = 0; k < straight.length; k++) {
        assert.ok(bytes(ckpt.params[k].values).equals(bytes(straight[k].values)), `${straight[k].name}: ${ckpt.params[k].values} vs ${straight[k].values}`);
      }
      assert.equal(opt3.state().step, opt1.state().step);
      assert.ok(!bytes(straight[0].values).equals(bytes(freshParams()[0].values)), 'training moved the weights');

      // Without the optimizer state the same resume goes elsewhere: the state is what carries the trajectory.
      const stateless = (await loadCheckpoint(file)).params;
      train(stateless, make(), 4, 8);
      assert.ok(!bytes(stateless[0].values).equals(bytes(straight[0].values)));
      for (const [key, v] of Object.entries(opt1.state().slots)) assert.ok(bytes(opt3.state().slots[key]).equals(bytes(v)), key);
    });
  }

  it('round trip is exact: values, shapes, order, optimizer state, step, epoch, rng, meta', async () => {
    const params = freshParams();
    params.push({ name: 'odd', shape: [], values: Float32Array.from([NaN]) });
    params.push({ name: 'neg0', shape: [1, 1], values: Float32Array.from([-0]) });
    const opt = new AdamW({ beta2: 0.98, eps: 1e-6 });
    train(params, opt, 0, 3);
    const ckpt = checkpointOf(params, opt, 3);
    const file = path.join(tmp, 'sub', 'dir', 'roundtrip.safetensors');
    saveCheckpoint(file, ckpt);
    const back = await loadCheckpoint(file);
    assert.equal(back.step, 3);
    assert.equal(back.epoch, 1);
    assert.deepEqual(back.rngState, ckpt.rngState);
    assert.deepEqual(back.meta, ckpt.meta);
    assert.deepEqual(back.params.map((p) => [p.name, p.shape]), params.map((p) => [p.name, p.shape]));
    for (let k = 0; k < params.length; k++) assert.ok(bytes(back.params[k].values).equals(bytes(params[k].values)), params[k].name);
    assert.equal(back.optimizer.kind, 'adamw');
    assert.equal(back.optimizer.step, 3);
    assert.deepEqual(back.optimizer.hyper, { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.01 });
    assert.deepEqual(Object.keys(back.optimizer.slots).sort(), Object.keys(ckpt.optimizer.slots).sort());
    for (const [key, v] of Object.entries(ckpt.optimizer.slots)) assert.ok(bytes(back.optimizer.slots[key]).equals(bytes(v)), key);

    // A plain safetensors file to any other tool: the reader sees param/ and optim/ tensors.
    const model = await safetensorsReader.read(file);
    assert.ok(model.tensors.some((t) => t.name === 'param/encoder/dense.weight' && t.shape.join() === '2,3'));
    assert.ok(model.tensors.some((t) => t.name === 'optim/m/encoder/dense.weight' && t.shape.join() === '6'));
    assert.equal(model.metadata.format, 'model-compression-lab/training-checkpoint');

    const info = await readCheckpointInfo(file);
    assert.equal(info.step, 3);
    assert.deepEqual(info.paramNames, params.map((p) => p.name));

    // Saving the same state twice gives the same bytes.
    const again = path.join(tmp, 'again.safetensors');
    saveCheckpoint(again, ckpt);
    assert.ok(readFileSync(again).equals(readFileSync(file)));
  });

  it('errors name the file: not a checkpoint, truncated, corrupt metadata, wrong model or optimizer', async () => {
    const weights = path.join(tmp, 'weights.safetensors');
    writeSafetensors(weights, [{ name: 'w', shape: [1], data: new Float32Array(1) }]);
    await assert.rejects(loadCheckpoint(weights), (e: Error) => e instanceof CheckpointError && e.message.startsWith(weights) && /not a training checkpoint/.test(e.message));

    const good = path.join(tmp, 'good.safetensors');
    const params = freshParams();
    const opt = new Sgd({ momentum: 0.9 });
    train(params, opt, 0, 2);
    saveCheckpoint(good, checkpointOf(params, opt, 2));

    const truncated = path.join(tmp, 'truncated.safetensors');
    writeFileSync(truncated, readFileSync(good).subarray(0, readFileSync(good).length - 5));
    await assert.rejects(loadCheckpoint(truncated), (e: Error) => e instanceof CheckpointError && e.message.startsWith(truncated) && /not a readable safetensors file/.test(e.message));

    const corrupt = path.join(tmp, 'corrupt.safetensors');
    const info = await safetensorsReader.read(good);
    writeSafetensors(corrupt, params.map((p) => ({ name: `param/${p.name}`, shape: p.shape, data: p.values })), { ...info.metadata, step: 'twelve' });
    await assert.rejects(loadCheckpoint(corrupt), (e: Error) => e.message.startsWith(corrupt) && /metadata "step" must be a non-negative integer/.test(e.message));

    const missing = path.join(tmp, 'missing.safetensors');
    writeSafetensors(missing, [{ name: `param/${params[0].name}`, shape: params[0].shape, data: params[0].values }], info.metadata);
    await assert.rejects(loadCheckpoint(missing), (e: Error) => e.message.startsWith(missing) && /parameter 'encoder\/dense.bias' is listed in metadata "params" but its tensor 'param\/encoder\/dense.bias' is missing/.test(e.message));

    await assert.rejects(loadCheckpoint(good, { expectOptimizer: 'adamw' }), (e: Error) => e.message.startsWith(good) && /holds sgd optimizer state, but this run uses adamw/.test(e.message));
    await assert.rejects(loadCheckpoint(good, { expectParams: [...freshParams(), { name: 'classifier.weight', shape: [2, 3] }] }), /lacks 1 of the model's parameters: 'classifier.weight'/);
    await assert.rejects(loadCheckpoint(good, { expectParams: [freshParams()[0]] }), /has 1 parameters the model does not: 'encoder\/dense.bias'/);
    await assert.rejects(loadCheckpoint(good, { expectParams: [{ name: 'encoder/dense.weight', shape: [3, 2] }, freshParams()[1]] }), /shape \[2, 3\] in the checkpoint but \[3, 2\] in the model/);
    await assert.rejects(loadCheckpoint(path.join(tmp, 'nope.safetensors')), (e: Error) => e instanceof CheckpointError && e.message.includes('nope.safetensors'));

    assert.throws(() => saveCheckpoint(path.join(tmp, 'bad.safetensors'), { ...checkpointOf(params, opt, 2), rngState: { seed: NaN } }), /bad.safetensors: cannot save checkpoint: rng state 'seed' must be a finite number/);
  });
});
