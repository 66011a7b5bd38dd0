import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { SHARED, requireShared } from '../helpers/paths';
import { writeTokenData } from '../helpers/data';
import { loadRunRecord } from '../../src/core/runs/run-record';

requireShared();
const ROOT = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-train-cli-'));
const TOKENIZER = path.join(SHARED, 'tokenizers', 'bert-base-uncased', 'tokenizer.json');

function cli(...args: string[]) {
  assert.ok(existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is built (npm run build)');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'compression-lab.js'), ...args], { encoding: 'utf8', timeout: 120_000, cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI until its stdout matches `when`, then calls `act` on it; resolves when it exits. */
function runUntil(args: string[], when: RegExp, act: (child: ChildProcess) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'compression-lab.js'), ...args], { cwd: dir });
    let stdout = '';
    let stderr = '';
    let acted = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; if (!acted && when.test(stdout)) { acted = true; act(child); } });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function childPids(pid: number): number[] {
  return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
}

test('train on SST-2 text with the bert-base-uncased tokenizer: log lines, evaluation, a runnable model', { timeout: 180_000 }, () => {
  const model = path.join(dir, 'model.onnx');
  writeModel(model, buildEncoderClassifier({ family: 'bert', vocabSize: 30522, hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 128, numLabels: 2 }));
  const data = path.join(dir, 'sst2-head.tsv');
  writeFileSync(data, readFileSync(path.join(SHARED, 'data', 'sst2', 'dev.tsv'), 'utf8').split('\n').slice(0, 97).join('\n') + '\n');
  const out = path.join(dir, 'trained.onnx');
  const log = path.join(dir, 'log.jsonl');
  const r = cli('train', '--model', model, '--data', data, '--tokenizer', TOKENIZER, '--out', out, '--max-steps', '4', '--batch-size', '16', '--max-length', '64', '--optimizer', 'sgd', '--lr', '0.1', '--momentum', '0.9', '--eval', data, '--log', log, '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /trained 4 steps/);
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const steps = lines.filter((l) => l.eval === undefined);
  assert.deepEqual(steps.map((l) => l.step), [1, 2, 3, 4]);
  for (const l of steps) assert.ok(Number.isFinite(l.loss) && Number.isFinite(l.lr));
  const evals = lines.filter((l) => l.eval);
  assert.ok(evals.length >= 1 && evals[0].accuracy >= 0 && evals[0].accuracy <= 1);
  const inspect = cli('inspect', out, '--json');
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.equal(JSON.parse(inspect.stdout).family, 'BERT');
});

test('train: bad data names the file and line; usage errors exit 2', () => {
  const model = path.join(dir, 'model.onnx');
  const bad = path.join(dir, 'bad.tsv');
  writeFileSync(bad, 'label\ttext\n1\ta fine row\nnot-a-label-row-without-tab\n');
  const r = cli('train', '--model', model, '--data', bad, '--tokenizer', TOKENIZER, '--out', path.join(dir, 'x.onnx'), '--text-column', 'sentence');
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(cli('train', '--model', model).code, 2);
  assert.equal(cli('train', '--model', model, '--data', bad, '--out', 'x.onnx', '--epochs', '1', '--max-steps', '2').code, 2);
});

// --- what a new user hits ---------------------------------------------------------------------

const small = () => {
  const model = path.join(dir, 'small.onnx');
  if (!existsSync(model)) writeModel(model, buildEncoderClassifier({ family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3 }));
  const data = path.join(dir, 'tokens.jsonl');
  if (!existsSync(data)) writeTokenData(data, 96, 3);
  return { model, data };
};
const readSteps = (log: string) => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => !l.eval);

test('train --seed 0, --clip-norm 0 (clipping off) and --schedule constant|cosine all work', { timeout: 120_000 }, () => {
  const { model, data } = small();
  const constLog = path.join(dir, 'const.jsonl');
  const a = cli('train', '--model', model, '--data', data, '--out', path.join(dir, 'seed0.onnx'), '--seed', '0', '--clip-norm', '0', '--schedule', 'constant', '--lr', '0.001', '--max-steps', '5', '--batch-size', '8', '--log', constLog, '--threads', '1');
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(readSteps(constLog).map((l) => l.lr), [0.001, 0.001, 0.001, 0.001, 0.001], 'a constant rate, no warm-up');
  const cosLog = path.join(dir, 'cos.jsonl');
  const b = cli('train', '--model', model, '--data', data, '--out', path.join(dir, 'cos.onnx'), '--schedule', 'cosine', '--warmup-ratio', '0', '--lr', '0.001', '--max-steps', '4', '--batch-size', '8', '--log', cosLog, '--threads', '1');
  assert.equal(b.code, 0, b.stderr);
  const lrs = readSteps(cosLog).map((l) => l.lr);
  for (const [i, lr] of lrs.entries()) assert.ok(Math.abs(lr - 0.001 * 0.5 * (1 + Math.cos((Math.PI * i) / 4))) < 1e-12, `step ${i}: ${lr}`);
});

test('train refuses an output that is one of its inputs, and the input is left as it was', () => {
  const { model, data } = small();
  const before = readFileSync(model);
  for (const [flag, value] of [['--out', model], ['--out', data], ['--log', model], ['--checkpoint', data]] as const) {
    const args = ['train', '--model', model, '--data', data, '--out', path.join(dir, 'x.onnx'), '--max-steps', '1'];
    const i = args.indexOf(flag);
    if (i >= 0) args[i + 1] = value; else args.push(flag, value);
    const r = cli(...args);
    assert.equal(r.code, 1, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, /^error: .*would overwrite the (model|training data) this job reads; choose another path\n$/);
  }
  assert.deepEqual(readFileSync(model), before, 'the model is untouched');
});

test('train: every bad input ends with exit 1 or 2 and one line naming the file or flag and the problem', { timeout: 60_000 }, () => {
  const { model, data } = small();
  const base = ['train', '--model', model, '--data', data, '--out', path.join(dir, 'bad-out.onnx'), '--max-steps', '1'];
  const noLabel = path.join(dir, 'no-label.jsonl');
  writeFileSync(noLabel, '{"input_ids": [101, 200, 102]}\n');
  const tooMany = path.join(dir, 'five-classes.jsonl');
  writeFileSync(tooMany, '{"input_ids": [101, 200, 102], "label": 4}\n');
  const pastVocab = path.join(dir, 'past-vocab.jsonl');
  writeFileSync(pastVocab, '{"input_ids": [101, 9999, 102], "label": 1}\n');
  const notModel = path.join(dir, 'not-a-model.onnx');
  writeFileSync(notModel, 'hello, I am text');
  const cases: Array<{ args: string[]; code: number; says: RegExp }> = [
    { args: [...base, '--seed', '-1'], code: 2, says: /--seed must be a whole number >= 0 \(got '-1'\)/ },
    { args: [...base, '--lr', 'fast'], code: 2, says: /--lr must be a number >= 0/ },
    { args: [...base, '--schedule', 'warm'], code: 2, says: /--schedule must be linear, cosine, constant, constant_with_warmup/ },
    { args: [...base, '--warmup-ratio', '2'], code: 2, says: /--warmup-ratio must be a number from 0 to 1/ },
    { args: [...base, '--frobnicate'], code: 2, says: /unknown option --frobnicate/ },
    { args: [...base, '--momentum', '0.9'], code: 2, says: /--momentum applies to the sgd optimizer only/ },
    { args: ['train', '--model', path.join(dir, 'missing.onnx'), '--data', data, '--out', path.join(dir, 'm.onnx')], code: 1, says: /missing\.onnx: no such file/ },
    { args: ['train', '--model', notModel, '--data', data, '--out', path.join(dir, 'm.onnx')], code: 1, says: /not-a-model\.onnx: / },
    { args: ['train', '--model', model, '--data', noLabel, '--out', path.join(dir, 'm.onnx')], code: 1, says: /no-label\.jsonl:1: no label column 'label'.*\(--label-column\)/ },
    { args: ['train', '--model', model, '--data', tooMany, '--out', path.join(dir, 'm.onnx')], code: 1, says: /five-classes\.jsonl:1: label 4 is past the model's 3 classes/ },
    { args: ['train', '--model', model, '--data', pastVocab, '--out', path.join(dir, 'm.onnx')], code: 1, says: /past-vocab\.jsonl:1: token id 9999 is past the model's vocabulary of 500/ },
  ];
  for (const c of cases) {
    const r = cli(...c.args);
    assert.equal(r.code, c.code, `${c.args.slice(-2).join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /);
    assert.match(r.stderr, c.says);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    if (c.code === 1) assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});

test('train records its run in .compression-lab/runs of the current folder (or --runs-dir), where the Runs view finds it', { timeout: 60_000 }, () => {
  const { model, data } = small();
  const project = path.join(dir, 'project');
  mkdirSync(project);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'compression-lab.js'), 'train', '--model', model, '--data', data, '--out', path.join(dir, 'recorded.onnx'), '--max-steps', '2', '--batch-size', '8'], { encoding: 'utf8', cwd: project });
  assert.equal(r.status, 0, r.stderr);
  const runs = path.join(project, '.compression-lab', 'runs');
  const files = readdirSync(runs).filter((f) => f.includes('-train-'));
  assert.equal(files.length, 1, files.join(', '));
  const record = loadRunRecord(path.join(runs, files[0]));
  assert.equal(record.kind, 'train');
  assert.equal(record.status, 'complete');
  assert.equal(record.model.path, model);
  assert.equal(record.kind === 'train' && record.result.history.length, 2);
  assert.match(r.stderr, new RegExp(`run recorded in ${runs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const elsewhere = path.join(dir, 'elsewhere');
  const again = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'compression-lab.js'), 'train', '--model', model, '--data', data, '--out', path.join(dir, 'recorded2.onnx'), '--max-steps', '1', '--runs-dir', elsewhere], { encoding: 'utf8', cwd: project });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readdirSync(elsewhere).length, 1);
  assert.equal(readdirSync(runs).length, 1, 'nothing more in the default folder');
});

test('Ctrl-C stops training at the next step with a resumable checkpoint (exit 130); a killed worker ends the CLI within 3 s', { timeout: 120_000 }, async () => {
  const { model, data } = small();
  const out = path.join(dir, 'interrupted.onnx');
  const interrupted = await runUntil(['train', '--model', model, '--data', data, '--out', out, '--max-steps', '100000', '--batch-size', '8', '--threads', '1'], /^step 10 /m, (child) => child.kill('SIGINT'));
  assert.equal(interrupted.code, 130, interrupted.stderr);
  const ckpt = path.join(dir, 'interrupted.ckpt.safetensors');
  assert.match(interrupted.stdout, new RegExp(`stopped at step \\d+; wrote the model so far to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} and the checkpoint ${ckpt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; go on with the same command and --resume`));
  assert.ok(existsSync(ckpt) && existsSync(out));

  let t0 = 0;
  const killed = await runUntil(['train', '--model', model, '--data', data, '--out', path.join(dir, 'killed.onnx'), '--max-steps', '100000', '--batch-size', '8', '--threads', '1'], /^step 10 /m, (child) => {
    const worker = childPids(child.pid!)[0];
    assert.ok(worker, 'the CLI runs training in a worker process');
    t0 = Date.now();
    process.kill(worker, 'SIGKILL');
  });
  assert.ok(Date.now() - t0 < 3000, `the CLI ended ${Date.now() - t0} ms after the kill`);
  assert.equal(killed.code, 1);
  assert.match(killed.stderr, /^error: the training process was killed \(SIGKILL\).* after step \d+ of 100000; no checkpoint was written/m);
});
