// `compression-lab distill` as a user runs it (the real bin; `npm run build` first).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { writeTokenData } from '../helpers/data';

const ROOT = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-distill-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TEACHER = path.join(dir, 'teacher.onnx');
writeModel(TEACHER, buildEncoderClassifier({ family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 4, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3 }));
const DATA = writeTokenData(path.join(dir, 'train.jsonl'), 64, 8);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'compression-lab.js'), ...args], { encoding: 'utf8', timeout: 120_000, cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('distill --recipe distilbert: per-step loss terms in the log, evaluation against the teacher, the student and the run record', { timeout: 120_000 }, () => {
  const log = path.join(dir, 'd.jsonl');
  const r = cli('distill', '--recipe', 'distilbert', '--teacher', TEACHER, '--data', DATA, '--eval', DATA, '--out', 'student.onnx', '--teacher-layers', '1,3', '--max-steps', '4', '--batch-size', '16', '--log', log, '--seed', '0', '--threads', '1', '--cache-dir', path.join(dir, 'cache'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /agreement with the teacher \d+\.\d+%/);
  assert.match(r.stdout, /student: 2 layers, width 32, [\d,]+ parameters; dev accuracy/);
  const steps = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => !l.eval);
  assert.deepEqual(steps.map((s) => s.step), [1, 2, 3, 4]);
  for (const s of steps) for (const k of ['loss', 'loss_kd', 'loss_ce', 'loss_cos', 'lr', 'grad_norm']) assert.ok(Number.isFinite(s[k]), `${k} at step ${s.step}`);
  assert.ok(existsSync(path.join(dir, 'student.onnx')));
  assert.equal(readdirSync(path.join(dir, '.compression-lab', 'runs')).filter((f) => f.includes('-distill-')).length, 1);
});

test('distill: bad options are one line with exit 2, bad files exit 1', () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['distill', '--teacher', TEACHER, '--data', DATA, '--out', 'x.onnx'], 2, /distill needs --recipe/],
    [['distill', '--recipe', 'tiny', '--teacher', TEACHER, '--data', DATA, '--out', 'x.onnx'], 2, /--recipe must be distilbert, tinybert/],
    [['distill', '--recipe', 'distilbert', '--teacher', TEACHER, '--data', DATA, '--out', 'x.onnx', '--teacher-layers', '0,x'], 2, /--teacher-layers must be layer numbers/],
    [['distill', '--recipe', 'distilbert', '--teacher', TEACHER, '--data', DATA, '--out', 'x.onnx', '--hidden', '16'], 2, /--hidden applies to the tinybert recipe only/],
    [['distill', '--recipe', 'tinybert', '--teacher', TEACHER, '--data', DATA, '--out', 'x.onnx', '--alpha-cos', '1'], 2, /--alpha-cos applies to the distilbert recipe only/],
    [['distill', '--recipe', 'distilbert', '--teacher', TEACHER, '--data', DATA, '--out', 'x.onnx', '--teacher-layers', '0,7'], 2, /--teacher-layers layer 7 is outside the teacher's layers 0\.\.3/],
    [['distill', '--recipe', 'tinybert', '--teacher', TEACHER, '--data', DATA, '--out', 'x.onnx', '--hidden', '64'], 2, /--hidden must be at most the teacher's width 32/],
    [['distill', '--recipe', 'tinybert', '--teacher', TEACHER, '--data', DATA, '--out', 'x.onnx', '--activation', 'swish'], 2, /--activation must be gelu, gelu_new/],
    [['distill', '--recipe', 'distilbert', '--teacher', TEACHER, '--data', DATA, '--out', 'x.onnx', '--activation', 'relu'], 2, /--activation applies to the tinybert recipe only/],
    [['distill', '--recipe', 'distilbert', '--teacher', path.join(dir, 'nope.onnx'), '--data', DATA, '--out', 'x.onnx'], 1, /nope\.onnx: no such file/],
  ];
  for (const [args, code, says] of cases) {
    const r = cli(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /);
    assert.match(r.stderr, says);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
