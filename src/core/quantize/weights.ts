// The arithmetic of weight quantization, following onnxruntime's quantizer (quant_utils.py): a
// float matrix B [K, N] (the MatMul layout, columns are output channels) becomes integers q with
// B ~= scale * (q - zeroPoint), one (scale, zero point) for the tensor or one per column.
export type WeightType = 'int8' | 'uint8';

export interface QuantizedWeight {
  values: Int8Array | Uint8Array;
  /** One per tensor ([1] values, stored as a scalar) or one per column. */
  scale: Float32Array;
  zeroPoint: Int8Array | Uint8Array;
  qmin: number;
  qmax: number;
}

/**
 * The integer range a weight may use. int8 is symmetric (-127..127, zero point 0) so the
 * u8 activations times s8 weights need no zero-point correction for B; reduce_range keeps weights
 * to 7 bits (-64..64, or 0..127 for uint8), which is what stops the u8 x s8 pair sums from
 * saturating int16 on x86 CPUs without VNNI (see cpu.ts).
 */
export function weightRange(type: WeightType, reduceRange: boolean): { qmin: number; qmax: number } {
  if (type === 'uint8') return reduceRange ? { qmin: 0, qmax: 127 } : { qmin: 0, qmax: 255 };
  return reduceRange ? { qmin: -64, qmax: 64 } : { qmin: -127, qmax: 127 };
}

/** numpy.rint: halves to even, as onnxruntime's quantizer rounds. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Scale and zero point for values in [rmin, rmax]: zero always representable, as onnxruntime does. */
export function scaleAndZeroPoint(rmin: number, rmax: number, qmin: number, qmax: number, symmetric: boolean): { scale: number; zeroPoint: number } {
  let lo = Math.min(rmin, 0);
  let hi = Math.max(rmax, 0);
  if (symmetric) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -m;
    hi = m;
  }
  // Math.fround: the scale is stored as float32, and the integers must be computed with that value.
  const scale = hi === lo ? 1 : Math.fround((hi - lo) / (qmax - qmin));
  const zeroPoint = symmetric ? Math.round((qmin + qmax) / 2) : roundHalfEven(qmin - lo / scale);
  return { scale, zeroPoint: Math.min(qmax, Math.max(qmin, zeroPoint)) };
}

/**
 * Quantizes B [K, N] (row-major) per tensor or per column. int8 weights are symmetric, uint8
 * weights asymmetric, as onnxruntime's quantize_dynamic defaults.
 */
export function quantizeMatrix(b: Float32Array, k: number, n: number, options: { type: WeightType; perChannel: boolean; reduceRange: boolean }): QuantizedWeight {
  if (b.length !== k * n) throw new Error(`weight has ${b.length} values, not ${k} x ${n}`);
  const { qmin, qmax } = weightRange(options.type, options.reduceRange);
  const symmetric = options.type === 'int8';
  const groups = options.perChannel ? n : 1;
  const mins = new Float64Array(groups).fill(Infinity);
  const maxs = new Float64Array(groups).fill(-Infinity);
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const v = b[row + c];
      if (!Number.isFinite(v)) throw new Error(`weight value at [${r}, ${c}] is ${v}; a weight with NaN or infinity cannot be quantized`);
      const g = options.perChannel ? c : 0;
      if (v < mins[g]) mins[g] = v;
      if (v > maxs[g]) maxs[g] = v;
    }
  }
  const scale = new Float32Array(groups);
  const zeroPoint = options.type === 'int8' ? new Int8Array(groups) : new Uint8Array(groups);
  for (let g = 0; g < groups; g++) {
    const sz = scaleAndZeroPoint(k * n ? mins[g] : 0, k * n ? maxs[g] : 0, qmin, qmax, symmetric);
    scale[g] = sz.scale;
    zeroPoint[g] = sz.zeroPoint;
  }
  const values = options.type === 'int8' ? new Int8Array(k * n) : new Uint8Array(k * n);
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const g = options.perChannel ? c : 0;
      const q = roundHalfEven(b[row + c] / scale[g]) + zeroPoint[g];
      values[row + c] = q < qmin ? qmin : q > qmax ? qmax : q;
    }
  }
  return { values, scale, zeroPoint, qmin, qmax };
}

/** [rows, cols] row-major to [cols, rows]: a Linear weight [out, in] as the MatMul's B [in, out]. */
export function transposeMatrix(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}
