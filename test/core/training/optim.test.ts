// Optimizers, schedules, clipping and accumulation against steps worked out by hand.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Gradients, Parameter } from '../../../src/core/training/types';
import { Sgd } from '../../../src/core/training/optim/sgd';
import { AdamW } from '../../../src/core/training/optim/adamw';
import { defaultNoDecay } from '../../../src/core/training/optim/common';
import { constantLr, cosineWarmupDecay, linearWarmupDecay, makeSchedule, warmupStepsFromRatio } from '../../../src/core/training/optim/schedule';
import { clipGradNorm, globalGradNorm } from '../../../src/core/training/optim/clip';
import { GradientAccumulator, optimizerStepsPerEpoch } from '../../../src/core/training/optim/accumulate';

/** Float32 storage: values agree with the float64 hand computation to ~1e-7 relative. */
function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `[${i}] ${actual[i]} != ${expected[i]}`);
  }
}

const param = (name: string, values: number[], shape = [values.length]): Parameter => ({ name, shape, values: Float32Array.from(values) });
const grads = (entries: Record<string, number[]>): Gradients => new Map(Object.entries(entries).map(([k, v]) => [k, Float32Array.from(v)]));

// Throughout: p0 = [1, 2, 3], g = [0.5, -1, 2], lr = 0.1.
describe('SGD', () => {
  it('plain: p <- p - lr * g', () => {
    const p = param('w', [1, 2, 3]);
    const opt = new Sgd();
    opt.step([p], grads({ w: [0.5, -1, 2] }), 0.1);
    close(p.values, [0.95, 2.1, 2.8]); // 1 - 0.05, 2 + 0.1, 3 - 0.2
    opt.step([p], grads({ w: [0.5, -1, 2] }), 0.1);
    close(p.values, [0.9, 2.2, 2.6]);
    assert.equal(opt.state().step, 2);
    assert.deepEqual(Object.keys(opt.state().slots), [], 'plain SGD keeps no state');
  });

  it('momentum 0.9: buf = g, then 0.9 * buf + g', () => {
    const p = param('w', [1, 2, 3]);
    const opt = new Sgd({ momentum: 0.9 });
    const g = [0.5, -1, 2];
    opt.step([p], grads({ w: g }), 0.1);
    close(p.values, [0.95, 2.1, 2.8]); // buf = g
    opt.step([p], grads({ w: g }), 0.1);
    close(p.values, [0.855, 2.29, 2.42]); // buf = 1.9 g = [0.95, -1.9, 3.8]; p -= 0.1 buf
    opt.step([p], grads({ w: g }), 0.1);
    close(p.values, [0.7195, 2.561, 1.878]); // buf = 2.71 g = [1.355, -2.71, 5.42]
    close(opt.state().slots['momentum/w'], [1.355, -2.71, 5.42]);
  });

  it('Nesterov: update g + 0.9 * buf', () => {
    const p = param('w', [1, 2, 3]);
    new Sgd({ momentum: 0.9, nesterov: true }).step([p], grads({ w: [0.5, -1, 2] }), 0.1);
    close(p.values, [0.905, 2.19, 2.62]); // buf = g; update 1.9 g
  });

  it('weight decay 0.1 adds 0.1 p to the gradient; noDecay exempts by name', () => {
    const w = param('w', [1, 2, 3]);
    const b = param('b', [1, 2, 3]);
    new Sgd({ weightDecay: 0.1, noDecay: (n) => n === 'b' }).step([w, b], grads({ w: [0.5, -1, 2], b: [0.5, -1, 2] }), 0.1);
    close(w.values, [0.94, 2.08, 2.77]); // d = g + 0.1 p = [0.6, -0.8, 2.3]
    close(b.values, [0.95, 2.1, 2.8]); // no decay
  });

  it('skips parameters without a gradient; refuses a gradient of the wrong size', () => {
    const a = param('a', [1, 2, 3]);
    const z = param('z', [7]);
    const opt = new Sgd({ momentum: 0.5 });
    opt.step([a, z], grads({ a: [1, 1, 1] }), 1);
    close(z.values, [7]);
    assert.equal(opt.state().slots['momentum/z'], undefined);
    assert.throws(() => opt.step([a], grads({ a: [1, 1] }), 1), /gradient of 'a' has 2 values but the parameter has 3/);
    assert.throws(() => opt.step([a], grads({ a: [1, 1, 1] }), NaN), /learning rate/);
  });
});

describe('AdamW', () => {
  it('two steps with bias correction (weight decay 0)', () => {
    const p = param('w', [1, 2, 3]);
    const opt = new AdamW({ weightDecay: 0 });
    // Step 1: m = 0.1 g, v = 0.001 g^2; bias-corrected m^ = g, v^ = g^2: the update is lr * sign(g).
    opt.step([p], grads({ w: [0.5, -1, 2] }), 0.1);
    close(p.values, [0.9, 2.1, 2.9]);
    close(opt.state().slots['m/w'], [0.05, -0.1, 0.2]);
    close(opt.state().slots['v/w'], [0.00025, 0.001, 0.004]);
    // Step 2 with g2 = [1, 1, 1]: m = 0.9 m + 0.1 = [0.145, 0.01, 0.28];
    // v = 0.999 v + 0.001 = [0.00124975, 0.001999, 0.004996];
    // m^ = m / 0.19 = [0.7631579, 0.0526316, 1.4736842]; v^ = v / 0.001999 = [0.6251876, 1, 2.4992496];
    // update = 0.1 m^ / sqrt(v^) = [0.0965182, 0.0052632, 0.0932180].
    opt.step([p], grads({ w: [1, 1, 1] }), 0.1);
    close(opt.state().slots['m/w'], [0.145, 0.01, 0.28]);
    close(opt.state().slots['v/w'], [0.00124975, 0.001999, 0.004996]);
    close(p.values, [0.8034818, 2.0947368, 2.8067820]);
  });

  it('decoupled weight decay: p * (1 - lr * wd) before the Adam update; biases and LayerNorm exempt', () => {
    const dense = param('encoder.layer.0.output.dense.weight', [1, 2, 3], [1, 3]);
    const bias = param('encoder.layer.0.output.dense.bias', [1, 2, 3], [1, 3]); // rank 2 on purpose: exempt by name
    const ln = param('encoder.layer.0.output.LayerNorm.weight', [1, 2, 3], [1, 3]);
    const g = [0.5, -1, 2];
    new AdamW({ weightDecay: 0.01 }).step([dense, bias, ln], grads({ [dense.name]: g, [bias.name]: g, [ln.name]: g }), 0.1);
    close(dense.values, [0.899, 2.098, 2.897]); // 0.999 p -/+ 0.1
    close(bias.values, [0.9, 2.1, 2.9]);
    close(ln.values, [0.9, 2.1, 2.9]);
  });

  it('the default exemption rule; a custom predicate', () => {
    assert.equal(defaultNoDecay('bert.embeddings.LayerNorm.weight', [768]), true);
    assert.equal(defaultNoDecay('classifier.bias', [2]), true);
    assert.equal(defaultNoDecay('onnx::MatMul_1234', [768]), true, 'rank 1: a bias or norm whatever its name');
    assert.equal(defaultNoDecay('bert.encoder.layer.0.attention.self.query.weight', [768, 768]), false);
    assert.equal(defaultNoDecay('onnx::MatMul_1234', [768, 768]), false);
    const w = param('keep', [1, 2, 3], [3, 1]);
    new AdamW({ weightDecay: 0.5, noDecay: (n) => n === 'keep' }).step([w], grads({ keep: [0.5, -1, 2] }), 0.1);
    close(w.values, [0.9, 2.1, 2.9]);
  });

  it('state() and load(): kinds must match; slots are copied', () => {
    const p = param('w', [1, 2, 3]);
    const a = new AdamW();
    a.step([p], grads({ w: [1, 1, 1] }), 0.1);
    assert.throws(() => new Sgd().load(a.state()), /cannot load adamw optimizer state into a sgd optimizer/);
    const b = new AdamW();
    b.load(a.state());
    a.step([p], grads({ w: [1, 1, 1] }), 0.1);
    close(b.state().slots['m/w'], [0.1, 0.1, 0.1]); // unaffected by a's second step
    assert.throws(() => b.load({ ...a.state(), slots: { 'q/w': new Float32Array(3) } }), /unknown slot 'q\/w'/);
  });

  it('is fast on 10M parameters', () => {
    const n = 10_000_000;
    const p: Parameter = { name: 'big', shape: [n], values: new Float32Array(n).fill(0.5) };
    const g = new Float32Array(n).fill(0.01);
    const opt = new AdamW();
    const t0 = performance.now();
    opt.step([p], new Map([['big', g]]), 1e-3);
    opt.step([p], new Map([['big', g]]), 1e-3);
    const ms = (performance.now() - t0) / 2;
    assert.ok(ms < 2000, `one AdamW step on 10M parameters took ${ms.toFixed(0)} ms`);
  });
});

describe('schedules', () => {
  it('linear warm-up then linear decay to 0 (Hugging Face get_linear_schedule_with_warmup)', () => {
    const s = linearWarmupDecay({ peakLr: 1, warmupSteps: 10, totalSteps: 110 });
    assert.equal(s.lrAt(0), 0);
    assert.equal(s.lrAt(5), 0.5);
    assert.equal(s.lrAt(10), 1);
    assert.equal(s.lrAt(60), 0.5); // (110 - 60) / 100
    assert.equal(s.lrAt(109), 0.01);
    assert.equal(s.lrAt(110), 0);
    assert.equal(s.lrAt(500), 0);
    const noWarm = linearWarmupDecay({ peakLr: 2e-5, warmupSteps: 0, totalSteps: 100 });
    assert.equal(noWarm.lrAt(0), 2e-5);
    assert.equal(noWarm.lrAt(50), 1e-5);
    assert.throws(() => linearWarmupDecay({ peakLr: 1, warmupSteps: 20, totalSteps: 10 }), /cannot exceed/);
    assert.throws(() => s.lrAt(-1), /integer >= 0/);
  });

  it('constant, with optional warm-up; warm-up from a ratio', () => {
    assert.equal(constantLr(0.1).lrAt(0), 0.1);
    assert.equal(constantLr(0.1).lrAt(10_000), 0.1);
    const w = constantLr(0.1, 4);
    assert.equal(w.lrAt(0), 0);
    assert.equal(w.lrAt(2), 0.05);
    assert.equal(w.lrAt(4), 0.1);
    assert.equal(warmupStepsFromRatio(0.06, 1000), 60);
    assert.equal(warmupStepsFromRatio(0.1, 15), 2);
  });
});

describe('gradient clipping', () => {
  it('scales to the max norm and returns the norm before clipping', () => {
    const g = grads({ a: [3, 0], b: [4] }); // norm 5
    assert.equal(globalGradNorm(g), 5);
    assert.equal(clipGradNorm(g, 1), 5);
    close(g.get('a') as Float32Array, [0.6, 0]);
    close(g.get('b') as Float32Array, [0.8]);
    assert.ok(Math.abs(globalGradNorm(g) - 1) < 1e-6);
  });

  it('leaves gradients under the max alone, and non-finite ones too', () => {
    const g = grads({ a: [3, 0], b: [4] });
    assert.equal(clipGradNorm(g, 10), 5);
    assert.deepEqual([...(g.get('a') as Float32Array)], [3, 0]);
    const bad = grads({ a: [NaN, 1] });
    assert.ok(Number.isNaN(clipGradNorm(bad, 1)));
    assert.equal((bad.get('a') as Float32Array)[1], 1);
    assert.throws(() => clipGradNorm(g, 0), /max gradient norm/);
  });
});

describe('gradient accumulation', () => {
  // Loss per example x: 0.5 * ||p - x||^2, so a batch's mean-loss gradient is p - mean(x).
  const p0 = [0.5, -0.25, 1];
  const xs = [[1, 2, 3], [0, 0, 1], [-1, 4, 2], [2, 2, 2], [0.5, 0.5, 0.5], [3, -1, 0], [1, 1, 1], [-2, 0, 4]];
  const meanGrad = (rows: number[][]) => p0.map((p, j) => p - rows.reduce((s, x) => s + x[j], 0) / rows.length);

  it('k micro-batches of unequal size average to the one big batch gradient', () => {
    const acc = new GradientAccumulator(3);
    assert.equal(acc.add(grads({ w: meanGrad(xs.slice(0, 3)) }), 3), false);
    assert.equal(acc.add(grads({ w: meanGrad(xs.slice(3, 6)) }), 3), false);
    assert.equal(acc.pending, 2);
    assert.equal(acc.add(grads({ w: meanGrad(xs.slice(6)) }), 2), true, 'time to step after 3');
    const g = acc.take();
    close(g.get('w') as Float32Array, meanGrad(xs));
    assert.equal(acc.pending, 0);

    // The same optimizer step as from the big batch.
    const a = param('w', p0);
    const b = param('w', p0);
    new AdamW().step([a], g, 0.01);
    new AdamW().step([b], grads({ w: meanGrad(xs) }), 0.01);
    close(a.values, [...b.values]);
  });

  it("'sum' adds; buffers restart after take(); a partial accumulation can be taken", () => {
    const acc = new GradientAccumulator(2, { reduction: 'sum' });
    acc.add(grads({ w: [1, 2] }));
    acc.add(grads({ w: [3, 4] }));
    close(acc.take().get('w') as Float32Array, [4, 6]);
    acc.add(grads({ w: [10, 10] }));
    close(acc.take().get('w') as Float32Array, [10, 10]);
    assert.throws(() => acc.take(), /no gradients to take/);
    assert.equal(optimizerStepsPerEpoch(10, 4), 3);
  });
});

describe('schedules by Hugging Face name', () => {
  it('cosine: warm-up, then 0.5 * (1 + cos(pi * progress)) down to 0 (get_cosine_schedule_with_warmup)', () => {
    const s = cosineWarmupDecay({ peakLr: 1, warmupSteps: 2, totalSteps: 10 });
    assert.deepEqual([0, 1].map((i) => s.lrAt(i)), [0, 0.5]);
    assert.equal(s.lrAt(2), 1);
    assert.ok(Math.abs(s.lrAt(6) - 0.5) < 1e-12, 'half-way through the decay');
    assert.ok(Math.abs(s.lrAt(10)) < 1e-12 && s.lrAt(12) >= 0);
  });
  it('constant ignores warm-up, constant_with_warmup does not, linear and cosine as above', () => {
    const o = { peakLr: 2, warmupSteps: 4, totalSteps: 8 };
    assert.deepEqual([0, 3, 7].map((i) => makeSchedule('constant', o).lrAt(i)), [2, 2, 2]);
    assert.deepEqual([0, 2, 4, 7].map((i) => makeSchedule('constant_with_warmup', o).lrAt(i)), [0, 1, 2, 2]);
    assert.equal(makeSchedule('linear', o).lrAt(6), linearWarmupDecay(o).lrAt(6));
    assert.equal(makeSchedule('cosine', o).lrAt(6), cosineWarmupDecay(o).lrAt(6));
    assert.equal(constantLr(2).lrAt(100), 2);
  });
});
