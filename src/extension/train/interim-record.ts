// The run record a job leaves while it runs. It is written every few seconds so that a window
// closed or reloaded mid-run (which ends the extension host, and with it the job's worker)
// still leaves the run's curve in the Runs view, saying what happened; the job's own record
// replaces it at the end. No vscode import: tested in Node.
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { describeEnvironment } from '../../core/benchmark/environment';
import type { JobParams } from '../../core/jobs/kinds';
import { RUN_SCHEMA, runFileName, thinHistory, type RunModel, type RunRecord, type RunResults } from '../../core/runs/run-record';
import type { EnvironmentRecord } from '../../core/benchmark/types';
import type { LiveRun } from './live-run';
import type { TrainingKind } from './training-kind';

export const INTERRUPTED = 'interrupted: the editor window was closed or reloaded while the job ran';

/** The model as a record names it, without its hash (the job's own record has that). */
export function modelEntry(file: string): RunModel {
  const name = path.basename(file).toLowerCase() === 'model.onnx' ? path.basename(path.dirname(file)) : path.basename(file).replace(/\.onnx$/i, '');
  let bytes = 0;
  try { bytes = statSync(file).size; } catch { /* the job reports a missing model */ }
  return { path: file, name, sha256: '', bytes };
}

export interface InterimBase<K extends TrainingKind> {
  kind: K;
  id: string;
  created: string;
  model: RunModel;
  settings: JobParams<K>;
  environment: EnvironmentRecord;
}

/** `model` is the file the record is about (fine-tuning: the model tuned). */
export function interimBase<K extends TrainingKind>(kind: K, model: string, settings: JobParams<K>): InterimBase<K> {
  const now = new Date();
  return { kind, id: randomUUID(), created: now.toISOString(), model: modelEntry(model), settings, environment: describeEnvironment(now) };
}

/** Where the run's record goes: the name the job's own record would get, under `folder`. */
export function interimFile(folder: string, base: InterimBase<TrainingKind>): string {
  return path.join(folder, runFileName({ kind: base.kind, created: base.created, model: base.model }));
}

export function interimRecord<K extends TrainingKind>(base: InterimBase<K>, run: LiveRun): RunRecord<K> {
  const last = run.lastStep;
  // What every training-like result holds: the curve and the evaluations, and how far it got.
  const result = {
    ...(last ? { steps: last.step } : {}),
    ...(run.plan?.startStep !== undefined ? { startStep: run.plan.startStep } : {}),
    ...(run.checkpoint ? { checkpoint: run.checkpoint } : {}),
    durationSec: run.elapsedMs / 1000,
    history: thinHistory(run.steps), evals: run.evals.slice(),
    // What a distillation's record would hold, so a reload mid-run still draws the map.
    ...(base.kind === 'distill' && run.layerMap ? { layerMap: run.layerMap } : {}),
  };
  return {
    schema: RUN_SCHEMA, kind: base.kind, id: base.id, created: base.created, model: base.model, settings: base.settings,
    environment: base.environment, status: 'cancelled', error: INTERRUPTED, result: result as RunResults[K],
  };
}
