import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentOf } from '../../webview/shared/progress';

test('progress fractions become whole percentages in 0..100; anything else shows a ring instead', () => {
  assert.equal(percentOf(0), 0);
  assert.equal(percentOf(0.424), 42);
  assert.equal(percentOf(0.995), 100);
  assert.equal(percentOf(1), 100);
  assert.equal(percentOf(1.7), 100);
  assert.equal(percentOf(-0.2), 0);
  for (const none of [undefined, NaN, Infinity, '0.5' as unknown as number, null as unknown as number]) assert.equal(percentOf(none), undefined);
});
