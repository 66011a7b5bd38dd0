// What "read fine" has to mean: the readers promise that a tensor's data reference can be
// sliced safely (model.ts, safetensors-reader.ts), so a model that comes back with a reference
// outside its file, or outside its own storage, is as much a bug as a thrown TypeError: the
// failure just comes later, when the tensor is loaded, or silently as another tensor's bytes.
import type { ModelFile } from '../../src/core/model';
import type { FormatName } from './formats/types';
import { analyzeZip } from './formats/zip-layout';

/** The first broken promise in `model`, or undefined. `bytes` is the weights file as written. */
export function brokenPromise(model: ModelFile, format: FormatName, bytes: Buffer): string | undefined {
  const sizes = new Map(model.files.map((f) => [f.path, f.bytes]));
  const inFile = (name: string, file: string, offset: number, length: number): string | undefined => {
    const size = sizes.get(file);
    if (size === undefined) return `tensor '${name}': its data is in ${file}, which the model does not list among its files`;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      return `tensor '${name}': data at offset ${offset}, length ${length} is not inside ${file} (${size} bytes)`;
    }
    return undefined;
  };
  for (const t of model.tensors) {
    const d = t.data;
    const problem = d.kind === 'raw' ? inFile(t.name, d.file, d.offset, d.length)
      : d.kind === 'onnx-typed' ? d.segments.map((s) => inFile(t.name, d.file, s.offset, s.length)).find(Boolean)
        : undefined;
    if (problem) return problem;
  }
  return format === 'pytorch' ? storagesOwnTheirBytes(model, bytes) : undefined;
}

/**
 * A mapped PyTorch tensor reads only bytes stored for its own storage entry (as an independent
 * reading of the ZIP directory finds them), not the next entry's or the central directory.
 */
function storagesOwnTheirBytes(model: ModelFile, bytes: Buffer): string | undefined {
  let entries: Map<string, { start: number; end: number }>;
  try {
    entries = new Map(analyzeZip(bytes).entries.map((e) => [e.name, { start: e.dataPos, end: e.dataPos + e.dataSize }]));
  } catch {
    // A directory this parser cannot walk (the reader read it, leniently): nothing to compare with.
    return undefined;
  }
  for (const t of model.tensors) {
    if (t.data.kind !== 'raw' || t.storageKey === undefined) continue;
    const e = entries.get(t.storageKey);
    if (!e) continue;
    const { offset, length } = t.data;
    if (offset < e.start || offset + length > e.end) {
      return `tensor '${t.name}': data at ${offset}..${offset + length} is outside the ${e.end - e.start} bytes stored for ${t.storageKey} (${e.start}..${e.end})`;
    }
  }
  return undefined;
}
