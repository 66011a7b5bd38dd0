import * as path from 'node:path';
import type { ModelFile, ModelReader, ReadOptions, TensorData, TensorInfo } from '../model';
import { ModelReadError } from '../model';
import { decodeModel, DecodedTensor, toTensorInfo } from '../onnx/onnx-decoder';
import { FileSource } from '../onnx/proto-source';
import { lfsPointerProblem } from '../io/random-access-file';
import { resolveInsideFolder } from './external-data';

export const onnxReader: ModelReader = {
  format: 'onnx',
  accepts(file: string) {
    return file.toLowerCase().endsWith('.onnx');
  },
  async read(file: string, options?: ReadOptions): Promise<ModelFile> {
    return readOnnx(path.resolve(file), options?.onProgress);
  },
};

function readOnnx(file: string, onProgress?: (fraction: number) => void): ModelFile {
  const src = new FileSource(file, onProgress);
  try {
    if (src.size === 0) throw new ModelReadError(file, 'empty file (0 bytes): not an ONNX model');
    const head = Buffer.from(src.window(0, 64).buf.subarray(0, 64));
    const lfs = lfsPointerProblem(head);
    if (lfs) throw new ModelReadError(file, lfs);
    const tensors: TensorInfo[] = [];
    const warnings: string[] = [];
    const files = new Map<string, number>([[file, src.size]]);
    const { info, sawGraph } = decodeModel(src, {
      tensor(t, origin, scope, nameOverride, sparse) {
        const external = t.dataLocation === 1 || t.external ? resolveExternal(file, t, files) : undefined;
        tensors.push(toTensorInfo(t, file, origin, scope, nameOverride ?? t.name, external, sparse?.nnz));
      },
    });
    if (!sawGraph) throw new ModelReadError(file, 'no graph found: this is not an ONNX model (or it is empty or corrupt)');
    if (info.irVersion <= 0) warnings.push('the model declares no IR version');
    const metadata: Record<string, string> = {
      irVersion: String(info.irVersion),
      producer: [info.producerName, info.producerVersion].filter(Boolean).join(' '),
      opset: info.opsetImports.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', '),
    };
    for (const [k, v] of Object.entries(info.metadata)) metadata[`meta.${k}`] = v;
    return {
      path: file,
      weightsPath: file,
      format: 'onnx',
      files: [...files].map(([p, bytes]) => ({ path: p, bytes })),
      tensors,
      metadata,
      onnx: info,
      warnings,
    };
  } finally {
    src.close();
  }
}

function resolveExternal(file: string, t: DecodedTensor, files: Map<string, number>): TensorData {
  const ext = t.external ?? {};
  const location = ext.location;
  if (!location) throw new ModelReadError(file, `tensor '${t.name}' says its data is external but names no location`);
  const target = resolveInsideFolder(file, location, `external data of tensor '${t.name}'`);
  files.set(target.path, target.bytes);
  const offset = ext.offset !== undefined ? parseIntField(file, t.name, 'offset', ext.offset) : 0;
  // Checked before the length defaults to "the rest of the file", which would be negative here.
  if (offset > target.bytes) {
    throw new ModelReadError(file, `external data of tensor '${t.name}' starts at offset ${offset}, past the end of ${location} (${target.bytes} bytes)`);
  }
  const length = ext.length !== undefined ? parseIntField(file, t.name, 'length', ext.length) : target.bytes - offset;
  if (offset + length > target.bytes) {
    throw new ModelReadError(file, `external data of tensor '${t.name}' (${location}, offset ${offset}, length ${length}) runs past the end of ${location} (${target.bytes} bytes)`);
  }
  return { kind: 'raw', file: target.path, offset, length };
}

function parseIntField(file: string, tensor: string, key: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new ModelReadError(file, `external data of tensor '${tensor}' has an invalid ${key} '${value}'`);
  return n;
}
