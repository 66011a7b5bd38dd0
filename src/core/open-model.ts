import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { ModelFile, ModelReader } from './model';
import { ModelReadError } from './model';
import { onnxReader } from './readers/onnx-reader';
import { safetensorsReader } from './readers/safetensors-reader';
import { pytorchReader } from './readers/pytorch-reader';

export const READERS: readonly ModelReader[] = [onnxReader, safetensorsReader, pytorchReader];

/** In a Hugging Face folder, which weights file to inspect when several formats sit side by side. */
const FOLDER_PREFERENCE = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json', 'model.onnx'];
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * Opens a model file or a Hugging Face model folder with the reader for its format, and reads
 * config.json beside the weights when there is one. Errors are ModelReadErrors naming the file.
 */
export interface OpenOptions {
  format?: ModelFile['format'];
  /** Progress through the weights file's header, 0..1. */
  onProgress?: (fraction: number) => void;
}

export async function openModel(input: string, options: OpenOptions = {}): Promise<ModelFile> {
  const abs = path.resolve(input);
  // Synchronous on purpose: a handful of metadata calls, each cheaper than a thread-pool round trip.
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new ModelReadError(abs, 'no such file or folder');
  }
  const weights = st.isDirectory() ? pickWeights(abs, options.format) : abs;
  const reader = readerFor(weights, options.format);
  const model = await reader.read(weights, { onProgress: options.onProgress });
  model.path = abs;
  attachConfig(model, path.join(path.dirname(weights), 'config.json'));
  return model;
}

function pickWeights(folder: string, format?: ModelFile['format']): string {
  const entries = readdirSync(folder);
  const candidates = [...FOLDER_PREFERENCE, ...entries.filter((e) => /\.(onnx|safetensors|bin|pt|pth)$/i.test(e)).sort()];
  for (const name of candidates) {
    if (!entries.includes(name)) continue;
    const file = path.join(folder, name);
    if (name.endsWith('.bin.index.json')) continue; // sharded .bin: read each shard on its own for now
    if (format) {
      const r = READERS.find((x) => x.format === format);
      if (!r || !r.accepts(file, Buffer.alloc(0))) continue;
    }
    return file;
  }
  throw new ModelReadError(folder, `no model weights found in this folder (looked for ${FOLDER_PREFERENCE.join(', ')}, *.onnx, *.safetensors, *.bin, *.pt)`);
}

function readerFor(file: string, format?: ModelFile['format']): ModelReader {
  if (format) {
    const r = READERS.find((x) => x.format === format);
    if (!r) throw new ModelReadError(file, `unknown format '${format}'`);
    return r;
  }
  const head = Buffer.alloc(64);
  let n: number;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new ModelReadError(file, `cannot open: ${(e as Error).message}`);
  }
  try {
    n = readSync(fd, head, 0, 64, 0);
  } finally {
    closeSync(fd);
  }
  const h = head.subarray(0, n);
  for (const r of READERS) if (r.accepts(file, h)) return r;
  throw new ModelReadError(file, 'unsupported file type: expected .onnx, .safetensors (or .safetensors.index.json), or a PyTorch checkpoint (.bin, .pt, .pth)');
}

function attachConfig(model: ModelFile, configPath: string): void {
  let text: string;
  try {
    const st = statSync(configPath);
    if (!st.isFile()) return;
    if (st.size > MAX_CONFIG_BYTES) { model.warnings.push(`${configPath}: ${st.size} bytes is too large for a config.json; ignored`); return; }
    text = readFileSync(configPath, 'utf8');
  } catch {
    return;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    model.config = parsed as Record<string, unknown>;
    model.configPath = configPath;
  } catch (e) {
    model.warnings.push(`${configPath}: not valid JSON (${(e as Error).message}); ignored`);
  }
}
