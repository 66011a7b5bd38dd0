// Accuracy for the comparison panel's optional columns. Benchmarks measure speed only; how
// accurate a model is comes from the runs that evaluated it: a distillation's record holds the
// teacher's accuracy and the student's evaluations, a fine-tuning's the tuned model's, a
// quantization's the float model's and the int8 model's accuracy on the same rows. Figures are tied to the bytes they were measured on, so
// one recorded for other bytes than the benchmark's is left out with a warning. No vscode import:
// tested in Node.
import * as path from 'node:path';
import type { AnyRunRecord } from '../../core/runs/run-record';

export interface Accuracy {
  accuracy: number;
  /** The model file's sha256 when the evaluating run saw it ('' or absent: unknown). */
  sha256?: string;
  /** The run file it came from. */
  runFile: string;
}

const key = (p: string) => path.resolve(p);

/** Model path -> its accuracy, from the runs that evaluated models; a later run's figure wins. */
export function accuracyByModel(runs: ReadonlyArray<{ file: string; record: AnyRunRecord }>): Map<string, Accuracy> {
  const out = new Map<string, Accuracy>();
  const sorted = [...runs].sort((a, b) => a.record.created.localeCompare(b.record.created));
  for (const { file, record } of sorted) {
    if (record.status !== 'complete') continue;
    if (record.kind === 'distill') {
      const r = record.result;
      const teacher = r.teacher?.accuracy;
      if (teacher !== undefined) out.set(key(record.model.path), { accuracy: teacher, sha256: r.teacher?.sha256 ?? record.model.sha256, runFile: file });
      const student = r.evals[r.evals.length - 1]?.accuracy;
      const studentFile = r.out ?? record.settings.out;
      if (student !== undefined && studentFile) out.set(key(studentFile), { accuracy: student, sha256: r.outSha256, runFile: file });
    } else if (record.kind === 'train') {
      const r = record.result;
      const tuned = r.evals[r.evals.length - 1]?.accuracy;
      const outFile = r.out ?? record.settings.out;
      if (tuned !== undefined && outFile) out.set(key(outFile), { accuracy: tuned, sha256: r.outSha256, runFile: file });
    } else if (record.kind === 'quantize') {
      const ev = record.result.evaluation;
      const outFile = record.result.out ?? record.settings.out;
      if (!ev) continue;
      out.set(key(record.settings.model), { accuracy: ev.accuracy.before, sha256: record.model.sha256, runFile: file });
      if (outFile) out.set(key(outFile), { accuracy: ev.accuracy.after, sha256: record.result.outSha256, runFile: file });
    }
  }
  return out;
}

/**
 * The accuracy to show beside a benchmarked model: known, and recorded for the bytes the
 * benchmark ran (when both hashes are known). `stale` says when a figure was left out for that.
 */
export function accuracyFor(byModel: ReadonlyMap<string, Accuracy>, model: { path: string; sha256?: string }): { accuracy?: number; stale?: boolean } {
  const a = byModel.get(key(model.path));
  if (!a) return {};
  if (a.sha256 && model.sha256 && a.sha256 !== model.sha256) return { stale: true };
  return { accuracy: a.accuracy };
}
