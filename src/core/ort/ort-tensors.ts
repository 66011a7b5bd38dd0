import * as ort from 'onnxruntime-node';
import type { LoadedTensor } from '../tensor-values';

const ORT_TYPES = new Set(['float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string', 'float16']);

/** An onnxruntime tensor over loaded values (no copy). */
export function toOrtTensor(t: LoadedTensor): ort.Tensor {
  if (!ORT_TYPES.has(t.dtype)) throw new Error(`onnxruntime-node cannot take a ${t.dtype} tensor ('${t.name}')`);
  return new ort.Tensor(t.dtype as 'float32', t.values as Float32Array, t.shape);
}
