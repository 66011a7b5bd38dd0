// The checks every job form (Fine-tune, Distill, Quantize) makes the same way: a typed path, the
// core's option checks asked until every problem is found, and the output guard's answer put
// beside the output field. No vscode import: tested in Node through the forms.
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { OptionsError, UserError } from '../../core/errors';
import { formatOf } from '../../core/training/data/dataset';
import { checkTrainingPaths, defaultCheckpointPath, type TrainOptions } from '../../core/training/train-options';

export function isFile(file: string): boolean {
  try { return statSync(file).isFile(); } catch { return false; }
}

/** What a path field holds: an ONNX file to write, rows, a tokenizer.json, or any file to read. */
export type PathRole = { output: string } | 'data' | 'tokenizer' | 'input';

/** The problem with a path typed into a form, or undefined. `output` names what is written there. */
export function pathProblem(file: string, role: PathRole): string | undefined {
  if (!path.isAbsolute(file)) return 'give the full path (or use Browse…)';
  if (typeof role === 'object') {
    if (!/\.onnx$/i.test(file)) return `${role.output} is an ONNX model: end the name with .onnx`;
    return existsSync(file) && !isFile(file) ? 'is a folder; give a file path' : undefined;
  }
  if (!isFile(file)) return existsSync(file) ? 'is a folder; give a file' : 'no such file';
  if (role === 'data' && !formatOf(file)) return `cannot tell the format from '${path.extname(file) || 'no extension'}': use .tsv, .csv or .jsonl`;
  if (role === 'tokenizer' && !/\.json$/i.test(file)) return 'give a tokenizer.json';
  return undefined;
}

/**
 * Runs a core check on `probe` until it passes, handing each option's problem to `take` and
 * asking again without that option: the core stops at the first problem, a form lists them all.
 * `take` returns false for a problem it leaves to the caller. Returns the first error not taken.
 */
export function probeOptions(probe: Record<string, unknown>, check: (options: Record<string, unknown>) => void, take: (e: OptionsError & { option: string }) => boolean): Error | undefined {
  for (let round = 0; round < 64; round++) {
    try {
      check(probe);
      return undefined;
    } catch (e) {
      if (!(e instanceof OptionsError) || !e.option || !(e.option in probe)) return e as Error;
      if (!take(e as OptionsError & { option: string })) return e;
      delete probe[e.option];
    }
  }
  return undefined;
}

/**
 * The training output guard (the output or its checkpoint is one of the job's inputs) as a form
 * problem: beside the output field when it is about the output, else a message for the form.
 */
export function trainingPathProblem(o: Pick<TrainOptions, 'data' | 'eval' | 'tokenizer' | 'out' | 'checkpoint'>, inputs: { role: string; file: string }[], fields: Record<string, string>): string | undefined {
  try {
    checkTrainingPaths(o, inputs, o.checkpoint ?? defaultCheckpointPath(o.out));
    return undefined;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    // The checkpoint is named after the output, so a clash of either is the output field's.
    const problem = e.problem.replace(/^the output model /, '').replace(/^the checkpoint /, 'its checkpoint (beside it) ');
    if (e.file && [o.out, defaultCheckpointPath(o.out)].some((f) => path.resolve(f) === path.resolve(e.file!))) {
      fields.out = problem;
      return undefined;
    }
    return e.message;
  }
}
