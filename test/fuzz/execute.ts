// Runs one case in this thread: writes its files, calls the reader (or openModel), analyses
// what comes back, and says what happened. Only a user error that names one of the case's
// files counts as a handled failure; everything else is a bug in the code under test.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../src/core/errors';
import { openModel, READERS } from '../../src/core/open-model';
import { analyzeModel } from '../../src/core/analysis/model-card';
import type { ModelFile } from '../../src/core/model';
import { buildCase } from './cases';
import type { CasePlan, Target } from './cases';
import type { Corpus } from './corpus';
import type { FormatName, MutationKind } from './formats/types';
import { brokenPromise } from './invariants';

export type Outcome = 'ok' | 'user-error' | 'uncaught' | 'hang';

export interface CaseResult {
  id: string;
  format: FormatName;
  model: string;
  kind: MutationKind;
  target: Target;
  outcome: Outcome;
  /** Reading plus analysis, in milliseconds (for a hang: how long it was given). */
  ms: number;
  /** The weights file the case wrote (deleted afterwards unless kept). */
  file: string;
  note: string;
  /** For an uncaught outcome, why it counts as one. */
  why?: string;
  error?: { name: string; message: string; stack?: string };
  /** Why a first attempt timed out, when a retry in a fresh worker then answered in time. */
  retried?: string;
}

/** Past this much new ArrayBuffer/heap memory in one case, a reader allocated from a forged size. */
const ALLOCATION_LIMIT_BYTES = 256 * 1024 * 1024;

/** One case, in this thread. `root` is a scratch folder; the case's own folder is removed after unless `keep`. */
export async function executeCase(corpus: Corpus, plan: CasePlan, root: string, keep = false): Promise<CaseResult> {
  const built = buildCase(corpus, plan);
  const dir = path.join(root, `case-${plan.index}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of built.files) writeFileSync(path.join(dir, f.name), f.bytes);
  const weights = path.join(dir, built.weights);
  // The paths an error may name: the file read, and for a folder the folder and its config.json.
  const named = plan.target === 'open-folder' ? [weights, dir, path.join(dir, 'config.json')] : [weights];

  const base = { id: plan.id, format: plan.format, model: plan.model, kind: plan.kind, target: plan.target, file: weights, note: built.note };
  const before = process.memoryUsage();
  const t0 = performance.now();
  let result: CaseResult;
  try {
    let model: ModelFile;
    if (plan.target === 'reader') {
      const reader = READERS.find((r) => r.format === plan.format);
      if (!reader) throw new Error(`no reader for ${plan.format}`);
      model = await reader.read(weights);
    } else {
      model = await openModel(plan.target === 'open-folder' ? dir : weights, built.formatOption ? { format: built.formatOption } : {});
    }
    // What every surface does with a model: analyse it and serialise the card (CLI --json, the webview).
    JSON.stringify(analyzeModel(model));
    const ms = performance.now() - t0;
    const broken = brokenPromise(model, model.format, built.files[0].bytes);
    result = broken ? { ...base, outcome: 'uncaught', ms, why: `read fine, but ${broken}` } : { ...base, outcome: 'ok', ms };
  } catch (e) {
    const ms = performance.now() - t0;
    const error = describe(e);
    if (e instanceof UserError) {
      const file = e.file;
      if (file !== undefined && named.includes(file) && e.message.includes(file)) result = { ...base, outcome: 'user-error', ms, error };
      else result = { ...base, outcome: 'uncaught', ms, error, why: `a ${e.name} that does not name the file (file: ${file ?? 'none'})` };
    } else {
      result = { ...base, outcome: 'uncaught', ms, error, why: `${error.name} is not a UserError` };
    }
  }
  const after = process.memoryUsage();
  const grew = Math.max(after.arrayBuffers - before.arrayBuffers, after.heapUsed - before.heapUsed);
  if (grew > ALLOCATION_LIMIT_BYTES && result.outcome !== 'uncaught') {
    result = { ...result, outcome: 'uncaught', why: `allocation blow-up: ${Math.round(grew / 2 ** 20)} MB for a ${Math.round(built.files[0].bytes.length / 1024)} KB file` };
  }
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return result;
}

function describe(e: unknown): { name: string; message: string; stack?: string } {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: typeof e, message: String(e) };
}
