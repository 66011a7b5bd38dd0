import type { DType, OnnxTypedField } from '../model';

/** TensorProto.DataType, index = enum value. */
const ONNX_DTYPES: DType[] = [
  'unknown', 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool',
  'float16', 'float64', 'uint32', 'uint64', 'complex64', 'complex128', 'bfloat16',
  'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'uint4', 'int4', 'float4e2m1',
];

export function dtypeFromOnnx(code: number): DType {
  return ONNX_DTYPES[code] ?? 'unknown';
}

export function onnxFromDtype(d: DType): number {
  const i = ONNX_DTYPES.indexOf(d);
  if (i <= 0) throw new Error(`dtype ${d} has no ONNX code`);
  return i;
}

/** The typed TensorProto field that holds values of a dtype when raw_data is not used. */
export function typedFieldFor(d: DType): OnnxTypedField {
  switch (d) {
    case 'float32': case 'complex64': return 'float_data';
    case 'float64': case 'complex128': return 'double_data';
    case 'int64': return 'int64_data';
    case 'uint32': case 'uint64': return 'uint64_data';
    case 'string': return 'string_data';
    default: return 'int32_data';
  }
}

export const TYPED_FIELD_NUMBERS: Record<number, OnnxTypedField> = {
  4: 'float_data', 5: 'int32_data', 6: 'string_data', 7: 'int64_data', 10: 'double_data', 11: 'uint64_data',
};
