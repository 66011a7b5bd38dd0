// Matrix products: MatMul (numpy semantics: 1-D operands, batched, broadcast batch dims) and Gemm.
import { attr } from '../../../onnx/model-spec';
import { range, staticDim, type ValueMeta } from '../emitter';
import { registerGradient } from '../registry';
import { dy0, floatAttr, intAttr, meta, outDtype, sumToShape, toInput, type GradientRule } from './helpers';

const matMul: GradientRule = (c) => {
  const { em } = c;
  const [a, b] = c.node.inputs;
  const dy = dy0(c);
  const ma = c.meta(a);
  const mb = c.meta(b);
  const my = c.meta(c.node.outputs[0]);
  const dtype = my.dtype;
  const ra = ma.dims.length;
  const rb = mb.dims.length;
  if (ra === 1 && rb === 1) return [c.needs[0] ? em.mul(dy, b) : undefined, c.needs[1] ? em.mul(dy, a) : undefined];
  // Vectors are promoted to matrices as numpy does ([k] -> [1, k] on the left, [k, 1] on the right).
  let a2 = a; let b2 = b; let d2 = dy;
  let ma2 = ma; let mb2 = mb; let my2 = my;
  if (ra === 1) {
    a2 = em.unsqueeze(a, [0]);
    ma2 = meta(dtype, [1, ...ma.dims], [1, ...ma.dims2]);
    d2 = em.unsqueeze(d2, [-2]);
    my2 = meta(dtype, [...my.dims.slice(0, -1), 1, ...my.dims.slice(-1)], [...my.dims2.slice(0, -1), 1, ...my.dims2.slice(-1)]);
  }
  if (rb === 1) {
    b2 = em.unsqueeze(b, [1]);
    mb2 = meta(dtype, [...mb.dims, 1], [...mb.dims2, 1]);
    d2 = em.unsqueeze(d2, [-1]);
    my2 = meta(dtype, [...my2.dims, 1], [...my2.dims2, 1]);
  }
  const r2a = ma2.dims.length;
  const r2b = mb2.dims.length;
  const ro = my2.dims.length;
  const swapLast = (r: number) => [...range(0, r - 2), r - 1, r - 2];
  // The full (output-batched) gradient of an operand, before summing over broadcast batch dims.
  const batched = (m: ValueMeta) => meta(dtype, [...my2.dims.slice(0, ro - 2), ...m.dims.slice(-2)], [...my2.dims2.slice(0, ro - 2), ...m.dims2.slice(-2)]);
  let da: string | undefined;
  let db: string | undefined;
  if (c.needs[0]) {
    const full = em.op1('MatMul', [d2, em.transpose(b2, swapLast(r2b))]);
    da = sumToShape(em, full, batched(ma2), a2, ma2);
    if (ra === 1) da = em.squeeze(da, [0]);
  }
  if (c.needs[1]) {
    const k = staticDim(mb2, 0);
    const nn = staticDim(mb2, 1);
    if (r2b === 2 && k !== undefined && nn !== undefined) {
      // A weight matrix: every leading dim of A and dy is a row of one GEMM, so no batched
      // product and no reduction: dB = A2^T dy2 with A2 = A as [-1, k], dy2 = dy as [-1, n].
      const aRows = r2a === 2 ? a2 : em.reshape(a2, em.ints([-1, k]));
      const dRows = ro === 2 ? d2 : em.reshape(d2, em.ints([-1, nn]));
      db = em.op1('Gemm', [aRows, dRows], { transA: attr.i(1) });
    } else {
      const full = em.op1('MatMul', [em.transpose(a2, swapLast(r2a)), d2]);
      db = sumToShape(em, full, batched(mb2), b2, mb2);
    }
    if (rb === 1) db = em.squeeze(db, [1]);
  }
  return [da, db];
};

const gemm: GradientRule = (c) => {
  const { em, node: n } = c;
  const [a, b, cc] = n.inputs;
  const dy = dy0(c);
  const tA = intAttr(n, 'transA', 0) !== 0;
  const tB = intAttr(n, 'transB', 0) !== 0;
  const alpha = floatAttr(n, 'alpha', 1);
  const beta = floatAttr(n, 'beta', 1);
  const g = (x: string, y: string, ta: boolean, tb: boolean) => em.op1('Gemm', [x, y], {
    ...(ta ? { transA: attr.i(1) } : {}), ...(tb ? { transB: attr.i(1) } : {}), ...(alpha !== 1 ? { alpha: attr.f(alpha) } : {}),
  });
  // Y = alpha op(A) op(B) + beta C
  const da = !c.needs[0] ? undefined : !tA ? (tB ? g(dy, b, false, false) : g(dy, b, false, true)) : (tB ? g(b, dy, true, true) : g(b, dy, false, true));
  const db = !c.needs[1] ? undefined : !tB ? (tA ? g(a, dy, false, false) : g(a, dy, true, false)) : (tA ? g(dy, a, true, true) : g(dy, a, true, false));
  let dc: string | undefined;
  if (cc && c.needs[2]) dc = toInput(c, beta !== 1 ? em.mul(dy, em.scalar(outDtype(c), beta)) : dy, 2);
  return [da, db, dc];
};

registerGradient({ opType: 'MatMul', gradient: matMul });
registerGradient({ opType: 'Gemm', gradient: gemm });
