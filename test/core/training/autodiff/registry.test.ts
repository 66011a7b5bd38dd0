// How gradient rules are registered: by (domain, op type), '' and 'ai.onnx' being one domain,
// each op once. A fresh GradientRegistry keeps these registrations out of the autodiff's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradientRegistry, type GradientRule } from '../../../../src/core/training/autodiff/registry';
import { gradientRegistry, listRegisteredGradients } from '../../../../src/core/training/autodiff/rules';

const passThrough: GradientRule = (c) => [c.dy[0]];
const other: GradientRule = () => [];

test("a rule registered without a domain is found under '' and 'ai.onnx', and not in another domain", () => {
  const r = new GradientRegistry();
  r.register({ opType: 'Foo', gradient: passThrough });
  assert.equal(r.ruleFor('', 'Foo'), passThrough);
  assert.equal(r.ruleFor(undefined, 'Foo'), passThrough);
  assert.equal(r.ruleFor('ai.onnx', 'Foo'), passThrough);
  assert.equal(r.ruleFor('com.microsoft', 'Foo'), undefined);
  assert.equal(r.ruleFor('', 'Bar'), undefined);
  assert.deepEqual(r.listGradients(), [{ domain: '', opType: 'Foo' }]);
});

test('the same op type in two domains is two rules', () => {
  const r = new GradientRegistry();
  r.register({ opType: 'Gelu', gradient: passThrough });
  r.register({ domain: 'com.microsoft', opType: 'Gelu', gradient: other });
  assert.equal(r.ruleFor('ai.onnx', 'Gelu'), passThrough);
  assert.equal(r.ruleFor('com.microsoft', 'Gelu'), other);
  assert.deepEqual(r.listGradients(), [{ domain: '', opType: 'Gelu' }, { domain: 'com.microsoft', opType: 'Gelu' }]);
});

test("registering an op twice throws, whichever spelling of the default domain, and keeps the first rule", () => {
  const r = new GradientRegistry();
  r.register({ opType: 'Foo', gradient: passThrough });
  assert.throws(() => r.register({ opType: 'Foo', gradient: other }), /a gradient rule for Foo is already registered/);
  assert.throws(() => r.register({ domain: 'ai.onnx', opType: 'Foo', gradient: other }), /a gradient rule for Foo is already registered/);
  r.register({ domain: 'com.microsoft', opType: 'Foo', gradient: passThrough });
  assert.throws(() => r.register({ domain: 'com.microsoft', opType: 'Foo', gradient: other }), /com\.microsoft\.Foo is already registered/);
  assert.equal(r.ruleFor('', 'Foo'), passThrough);
});

test('an op is either differentiable or not: registering it as both throws', () => {
  const r = new GradientRegistry();
  r.registerNonDifferentiable('', ['Shape', 'Floor']);
  assert.ok(r.isNonDifferentiable('ai.onnx', 'Floor'));
  assert.ok(!r.isNonDifferentiable('com.microsoft', 'Floor'));
  assert.throws(() => r.register({ domain: 'ai.onnx', opType: 'Floor', gradient: passThrough }), /Floor is already registered as non-differentiable/);
  r.register({ opType: 'Foo', gradient: passThrough });
  assert.throws(() => r.registerNonDifferentiable('', ['Foo']), /a gradient rule for Foo is already registered/);
  assert.throws(() => r.registerNonDifferentiable('ai.onnx', ['Shape']), /Shape is already registered as non-differentiable/);
  assert.deepEqual(r.listNonDifferentiable(), [{ domain: '', opType: 'Shape' }, { domain: '', opType: 'Floor' }]);
});

test("the autodiff's registry holds the rule files' rules and refuses a second rule for one of them", () => {
  const ops = listRegisteredGradients().map((o) => o.opType);
  for (const op of ['Add', 'MatMul', 'Gemm', 'LayerNormalization', 'Softmax', 'Gather', 'Slice', 'Dropout']) assert.ok(ops.includes(op), op);
  assert.ok(gradientRegistry.isNonDifferentiable('', 'Shape'));
  assert.throws(() => gradientRegistry.register({ domain: 'ai.onnx', opType: 'Add', gradient: passThrough }), /already registered/);
});
