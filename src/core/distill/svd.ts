// Truncated SVD of a tall matrix (a V x H embedding table, V >> H) through its H x H Gram matrix:
// W^T W = V diag(s^2) V^T by cyclic Jacobi rotations (float64), so the cost is one pass over W
// for the Gram matrix plus O(H^3) for the rotations, never a V x V anything. The rank-E factors
// are W V_E (V x E) and V_E^T (E x H); the relative Frobenius error of W V_E V_E^T is
// sqrt(sum of the dropped s^2 / sum of all s^2).

export interface TruncatedSvd {
  /** Rows x rank: W projected on the top right singular vectors (U_E S_E). */
  left: Float32Array;
  /** Cols x rank, column-major by component: the top right singular vectors V_E (H x E, row-major). */
  right: Float64Array;
  singularValues: Float64Array;
  /** ||W - W V_E V_E^T||_F / ||W||_F. */
  relativeError: number;
}

/** Eigen-decomposition of a symmetric n x n matrix (row-major, float64): eigenvalues descending, eigenvectors as columns. */
export function symmetricEigen(a: Float64Array, n: number, maxSweeps = 60): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] * m[p * n + q];
    let diag = 0;
    for (let i = 0; i < n; i++) diag += m[i * n + i] * m[i * n + i];
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p];
        const aqq = m[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => m[y * n + y] - m[x * n + x]);
  const values = Float64Array.from(order, (i) => m[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((from, to) => { for (let k = 0; k < n; k++) vectors[k * n + to] = v[k * n + from]; });
  return { values, vectors };
}

/** Rank-`rank` factors of a rows x cols row-major matrix (rows >= cols). */
export function truncatedSvd(w: Float32Array, rows: number, cols: number, rank: number): TruncatedSvd {
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= cols)) throw new RangeError(`rank ${rank} must be between 1 and ${cols}`);
  const gram = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let i = 0; i < cols; i++) {
      const x = w[o + i];
      if (x === 0) continue;
      const gi = i * cols;
      for (let j = i; j < cols; j++) gram[gi + j] += x * w[o + j];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) gram[i * cols + j] = gram[j * cols + i];
  const { values, vectors } = symmetricEigen(gram, cols);
  const right = new Float64Array(cols * rank);
  for (let k = 0; k < cols; k++) for (let e = 0; e < rank; e++) right[k * rank + e] = vectors[k * cols + e];
  const left = new Float32Array(rows * rank);
  for (let r = 0; r < rows; r++) {
    for (let e = 0; e < rank; e++) {
      let sum = 0;
      for (let k = 0; k < cols; k++) sum += w[r * cols + k] * right[k * rank + e];
      left[r * rank + e] = sum;
    }
  }
  const pos = values.map((x) => Math.max(0, x));
  const total = pos.reduce((a, b) => a + b, 0);
  const kept = pos.slice(0, rank).reduce((a, b) => a + b, 0);
  return { left, right, singularValues: pos.map(Math.sqrt), relativeError: total > 0 ? Math.sqrt(Math.max(0, total - kept) / total) : 0 };
}

/** rows x cols times the cols x rank projection (for position and token-type tables on the same basis). */
export function project(x: Float32Array, rows: number, cols: number, right: Float64Array, rank: number): Float32Array {
  const out = new Float32Array(rows * rank);
  for (let r = 0; r < rows; r++) {
    for (let e = 0; e < rank; e++) {
      let sum = 0;
      for (let k = 0; k < cols; k++) sum += x[r * cols + k] * right[k * rank + e];
      out[r * rank + e] = sum;
    }
  }
  return out;
}
