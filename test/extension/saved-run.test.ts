// What a reload finds: the record a running job leaves (status cancelled, "interrupted", its
// curve so far), saved and loaded as any run file; the panel's first message made from a saved
// record; and the page state VS Code hands back, checked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadRunRecord, saveRunRecord, type RunRecord } from '../../src/core/runs/run-record';
import { INTERRUPTED, interimBase, interimFile, interimRecord } from '../../src/extension/train/interim-record';
import { LiveRun } from '../../src/extension/train/live-run';
import { runPanelState, savedSnapshot } from '../../src/extension/train/saved-run';
import { step } from '../helpers/steps';

const dir = mkdtempSync(path.join(tmpdir(), 'mcl-saved-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = path.join(dir, 'tiny', 'model.onnx');
const out = path.join(dir, 'tiny', 'tiny-finetuned.onnx');

function liveRun(): LiveRun {
  const run = new LiveRun({ kind: 'train', title: 'Fine-tune: tiny', model: 'tiny', modelPath: model, out, status: 'starting', live: true });
  run.progress({ type: 'start', totalSteps: 500, stepsPerEpoch: 100, epochs: 5, startStep: 0, terms: ['ce'], trainExamples: 800 });
  run.progress({ type: 'steps', steps: [step(1), step(2), step(3)] });
  run.progress({ type: 'eval', eval: { step: 3, epoch: 0, accuracy: 0.5, loss: 0.7, examples: 10 } });
  run.progress({ type: 'checkpoint', file: path.join(dir, 'ck.safetensors'), step: 3 });
  return run;
}

test('the interim record: a valid run file named as the job would name it, cancelled "interrupted", with the curve so far', () => {
  const base = interimBase('train', model, { model, data: path.join(dir, 'd.jsonl'), out, maxSteps: 500 });
  const file = interimFile(dir, base);
  assert.match(path.basename(file), /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-train-tiny\.json$/);
  saveRunRecord(file, interimRecord(base, liveRun()));
  const r = loadRunRecord(file) as RunRecord<'train'>;
  assert.equal(r.kind, 'train');
  assert.equal(r.status, 'cancelled');
  assert.equal(r.error, INTERRUPTED);
  assert.match(INTERRUPTED, /^interrupted: the editor window was closed or reloaded while the job ran$/);
  assert.deepEqual(r.result.history.map((s) => s.step), [1, 2, 3]);
  assert.equal(r.result.evals.length, 1);
  assert.equal(r.result.steps, 3);
  assert.equal(r.result.checkpoint, path.join(dir, 'ck.safetensors'));
  assert.ok(typeof r.result.durationSec === 'number' && r.result.durationSec >= 0);
  assert.equal(r.model.name, 'tiny');
  assert.equal(r.model.sha256, '', 'the job\'s own record has the hash');
});

test('a saved record as the panel shows it: status, error, the plan it can tell, compare only when the output exists', () => {
  const base = interimBase('train', model, { model, data: path.join(dir, 'd.jsonl'), out, maxSteps: 500 });
  const file = interimFile(dir, base);
  const record = interimRecord(base, liveRun());
  let snap = savedSnapshot(file, record);
  assert.equal(snap.header.status, 'cancelled');
  assert.equal(snap.header.live, false);
  assert.equal(snap.header.error, INTERRUPTED);
  assert.equal(snap.header.runFile, file);
  assert.equal(snap.header.title, 'Fine-tune: tiny');
  assert.equal(snap.header.compare, undefined, 'no output on disk');
  assert.equal(snap.plan?.totalSteps, 500, 'from the settings');
  assert.deepEqual(snap.steps.map((s) => s.step), [1, 2, 3]);
  writeFileSync(path.join(dir, 'placeholder'), '');
  const complete: RunRecord<'train'> = { ...record, status: 'complete', error: undefined, settings: { ...record.settings, maxSteps: undefined, out: path.join(dir, 'placeholder') } };
  snap = savedSnapshot(file, complete, { plan: { stepsPerEpoch: 100 }, layerMap: { teacherLayers: 4, studentLayers: 2, links: [] } });
  assert.equal(snap.plan?.totalSteps, 3, 'a finished run is as long as its last step');
  assert.equal(snap.plan?.stepsPerEpoch, 100, 'what the page kept adds to the record');
  assert.deepEqual(snap.header.compare, { label: 'Compare with the original' });
  assert.deepEqual(snap.layerMap, { teacherLayers: 4, studentLayers: 2, links: [] });
});

test("a distillation's saved record draws its own layer map, and offers to compare with the teacher", () => {
  const teacher = path.join(dir, 'tiny', 'model.onnx');
  const base = interimBase('distill', teacher, { recipe: 'albert', teacher, data: path.join(dir, 'd.jsonl'), out: path.join(dir, 'placeholder') });
  const run = liveRun();
  const map = { teacherLayers: 2, studentLayers: 2, links: [{ student: 1, teacher: 1, role: 'both' as const }] };
  run.progress({ type: 'start', totalSteps: 500, stepsPerEpoch: 100, epochs: 5, startStep: 0, terms: ['kd'], trainExamples: 800, layerMap: map, stages: [{ name: 'distill', startStep: 0, steps: 500 }] });
  const record = interimRecord(base, run);
  assert.deepEqual(record.result.layerMap, map, 'the interim record keeps it for a reload');
  const snap = savedSnapshot(interimFile(dir, base), { ...record, status: 'complete', error: undefined }, { layerMap: { teacherLayers: 9, studentLayers: 9, links: [] } });
  assert.deepEqual(snap.layerMap, map, "the record's map, not a page's older one");
  assert.equal(snap.header.title, 'Distill: tiny');
  assert.deepEqual(snap.header.compare, { label: 'Compare with the teacher' });
});

test('the page state after a reload: a run file, and only well-formed extras', () => {
  assert.deepEqual(runPanelState({ runFile: '/w/r.json', plan: { totalSteps: 10 }, layerMap: { teacherLayers: 2, studentLayers: 1, links: [] } }),
    { runFile: '/w/r.json', plan: { totalSteps: 10 }, layerMap: { teacherLayers: 2, studentLayers: 1, links: [] } });
  assert.deepEqual(runPanelState({ runFile: '/w/r.json', plan: { totalSteps: 'x' }, layerMap: { links: 3 } }), { runFile: '/w/r.json' });
  assert.equal(runPanelState({ runFile: '/etc/passwd' }), undefined);
  assert.equal(runPanelState(undefined), undefined);
});
