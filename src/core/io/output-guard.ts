// A job must never write over what the user gave it to read (their model, their data): an output
// that is one of the inputs, or two outputs that are one file, is refused before any work starts.
// Paths are compared after resolving symlinks, so a link to the model is the model.
import { existsSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { OutputConflictError } from '../errors';

export interface NamedPath {
  /** What the file is to the job, in words: 'the model', 'the training data'. */
  role: string;
  file: string;
}

function canonical(file: string): string {
  const abs = path.resolve(file);
  if (existsSync(abs)) return realpathSync(abs);
  // A file still to be written: its folder may be a link.
  const dir = path.dirname(abs);
  return existsSync(dir) ? path.join(realpathSync(dir), path.basename(abs)) : abs;
}

/** Throws OutputConflictError when an output is an input, a folder, or another output. */
export function checkOutputs(reads: ReadonlyArray<NamedPath | undefined>, writes: ReadonlyArray<NamedPath | undefined>): void {
  const inputs = reads.filter((r): r is NamedPath => !!r).map((r) => ({ ...r, key: canonical(r.file) }));
  const seen: Array<NamedPath & { key: string }> = [];
  for (const w of writes) {
    if (!w) continue;
    const key = canonical(w.file);
    const input = inputs.find((r) => r.key === key);
    if (input) throw new OutputConflictError(w.file, `${w.role} would overwrite ${input.role} this job reads; choose another path`);
    const twice = seen.find((s) => s.key === key);
    if (twice) throw new OutputConflictError(w.file, `${w.role} and ${twice.role} are the same file; choose two paths`);
    if (existsSync(key) && statSync(key).isDirectory()) throw new OutputConflictError(w.file, `${w.role} is a folder; give a file path`);
    seen.push({ ...w, key });
  }
}
