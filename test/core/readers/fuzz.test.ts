// 1,000 seeded mutations of the shared models through every reader, openModel and the analysis
// (the engine behind `npm run fuzz`, which runs 10,000): none may throw anything but a user
// error naming the file, none may take a second, and a model that reads fine must keep the
// readers' promises about where its tensors' bytes are. A failure prints each distinct problem
// with the command that replays it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { runCases } from '../../fuzz/runner';
import { failures, formatFailures, formatRetried, formatTable, summarize } from '../../fuzz/report';
import { FORMATS, KINDS } from '../../fuzz/formats/types';
import { requireShared } from '../../helpers/paths';

requireShared();
const SEED = 'npm-test';
const CASES = 1000;

test(`${CASES} mutations (seed ${SEED}): 0 uncaught, 0 hangs, every failure a user error naming the file`, { timeout: 180_000 }, async (t) => {
  const results = await runCases({ seed: SEED, indices: Array.from({ length: CASES }, (_, i) => i) });
  for (const line of `${formatTable(results)}\n${formatRetried(results)}`.split('\n')) t.diagnostic(line);
  const s = summarize(results);
  assert.equal(s.cases, CASES);
  const bad = failures(results);
  assert.equal(bad.length, 0, `${s.uncaught} uncaught, ${s.hangs} hangs:\n\n${formatFailures(results, (id) => `npm run fuzz -- --replay ${id} --keep`)}`);

  // Checked again here, apart from the classification: a user error names a file of its case.
  for (const r of results.filter((x) => x.outcome === 'user-error')) {
    assert.ok(r.error?.message.includes(path.dirname(r.file)), `${r.id}: ${r.error?.message}`);
  }
  // The run means something only if every format and mutation kind both got through and got caught.
  for (const f of FORMATS) {
    for (const k of KINDS) assert.ok(results.some((r) => r.format === f && r.kind === k), `no ${f}/${k} cases`);
    assert.ok(results.some((r) => r.format === f && r.outcome === 'ok'), `no ${f} mutation read fine`);
    assert.ok(results.some((r) => r.format === f && r.outcome === 'user-error'), `no ${f} mutation was refused`);
  }
});
