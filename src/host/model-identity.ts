// What a run record says of its model: its path, a name (a Hugging Face folder's model.onnx is
// named after the folder), and the sha256 of its bytes as the job found them.
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { hashFiles } from '../core/benchmark/environment';
import type { RunModel } from '../core/runs/run-record';

export async function modelIdentity(file: string): Promise<RunModel> {
  const name = path.basename(file).toLowerCase() === 'model.onnx' ? path.basename(path.dirname(file)) : path.basename(file).replace(/\.onnx$/i, '');
  try {
    return { path: file, name, sha256: await hashFiles([file]), bytes: statSync(file).size };
  } catch {
    return { path: file, name, sha256: '', bytes: 0 };
  }
}
