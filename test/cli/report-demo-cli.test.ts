// `compression-lab demo --quick` end to end (the whole pipeline with few steps: the task, the
// teacher, four students, their int8 variants, latency, the report), then `report` rebuilding the
// report from the demo's runs without retraining, and its bad input.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const ROOT = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-demo-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'compression-lab.js'), ...args], { encoding: 'utf8', timeout: 600_000, cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('demo --quick runs every stage and writes the report; report rebuilds it from the runs as Markdown, HTML, CSV and JSON', { timeout: 600_000 }, () => {
  const out = path.join(dir, 'demo');
  const r = cli('demo', '--quick', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  for (const stage of ['Generating the review task', 'Training the BERT teacher', 'DistilBERT-style', 'TinyBERT-style', 'ALBERT-style', 'MobileBERT-style', 'Quantizing every model', 'Measuring latency', 'Writing the compression report']) {
    assert.match(r.stdout, new RegExp(stage), stage);
  }
  assert.ok(existsSync(path.join(out, 'report.md')) && existsSync(path.join(out, 'report.html')));
  const json = cli('report', path.join(out, 'runs'), '--json');
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { rows: Array<{ role: string; technique: string; p50?: number; params?: number }> };
  assert.deepEqual(report.rows.map((x) => x.technique), ['baseline', 'distillation', 'layer-wise distillation', 'sharing and factorisation', 'bottleneck redesign', ...Array(5).fill('quantization')]);
  assert.ok(report.rows.every((x) => x.p50 !== undefined && x.params !== undefined), 'every model measured');
  const html = path.join(dir, 'again.html');
  assert.equal(cli('report', path.join(out, 'runs'), '--out', html).code, 0);
  assert.match(readFileSync(html, 'utf8'), /^<!DOCTYPE html>/);
  const csv = cli('report', path.join(out, 'runs'), '--csv');
  assert.equal(csv.stdout.trim().split('\n').length, 11);
  const md = cli('report', path.join(out, 'runs'));
  assert.match(md.stdout, /\| teacher \*? ?\| baseline \|/);
});

test('report: a missing input, two formats or an output over an input end with one line', () => {
  const missing = cli('report', path.join(dir, 'nope'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: .*nope: no such file or folder\n$/);
  const two = cli('report', '--html', '--csv');
  assert.equal(two.code, 2);
  assert.match(two.stderr, /^error: give one of --markdown, --html, --csv, --json/);
});
