import { realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ModelReadError } from '../model';

/**
 * Resolves a file a model refers to (ONNX external data, a safetensors shard) so that it can
 * only ever be a file inside the model's own folder: no absolute paths, no '..', no symlink that
 * leads out. Model files are untrusted; this is what keeps one from reading /etc/passwd.
 */
export function resolveInsideFolder(modelFile: string, reference: string, what: string): { path: string; bytes: number } {
  const folder = path.dirname(modelFile);
  const bad = (why: string): never => {
    throw new ModelReadError(modelFile, `${what} '${reference}' ${why}; only files inside the model's folder are read`);
  };
  if (reference === '' || reference.includes('\0')) bad('is not a valid file name');
  if (path.isAbsolute(reference) || path.win32.isAbsolute(reference)) bad('is an absolute path');
  const parts = reference.split(/[\\/]+/);
  if (parts.includes('..')) bad("goes up with '..'");
  const candidate = path.resolve(folder, reference);
  let real: string;
  let realFolder: string;
  try {
    realFolder = realpathSync(folder);
    real = realpathSync(candidate);
  } catch {
    throw new ModelReadError(modelFile, `${what} '${reference}' does not exist beside the model`);
  }
  const rel = path.relative(realFolder, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) bad('leads outside the model folder (through a symbolic link)');
  const st = statSync(real);
  if (!st.isFile()) bad('is not a regular file');
  return { path: real, bytes: st.size };
}
