import type { LoadedTensor } from '../tensor-values';
import { readValues } from '../tensor-values';
import { product } from '../model';
import { decodeTensorProto } from './onnx-decoder';
import { MemorySource, ProtoReader } from './proto-source';

/** Decodes a serialized TensorProto (an ONNX test-data .pb file) with its values. */
export function decodeTensorBytes(name: string, bytes: Uint8Array): LoadedTensor {
  const src = new MemorySource(name, bytes);
  const t = decodeTensorProto(new ProtoReader(src, 0, bytes.length));
  const elements = product(t.dims);
  let values;
  if (t.raw) values = readValues(src, t.dtype, elements, { kind: 'raw', file: name, offset: t.raw.offset, length: t.raw.length });
  else {
    const first = [...t.typed.entries()][0];
    values = first
      ? readValues(src, t.dtype, elements, { kind: 'onnx-typed', file: name, field: first[0] as never, segments: first[1] })
      : readValues(src, t.dtype, 0, { kind: 'raw', file: name, offset: 0, length: 0 });
  }
  return { name: t.name, dtype: t.dtype, shape: t.dims, values };
}
