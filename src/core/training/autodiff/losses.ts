// Losses as graph pieces: ONNX ops appended to the forward graph that reduce some of its values
// (and new graph inputs: labels, teacher logits, teacher hidden states) to one scalar. The
// backward pass then differentiates them like any other forward op.
import type { DType } from '../../model';
import { attr, type ValueInfoSpec } from '../../onnx/model-spec';
import { AutodiffError, Emitter, type ValueMeta } from './emitter';

export type LossSpec =
  /**
   * Mean negative log-likelihood of hard labels under softmax(logits) over the last axis.
   * `labels` (default 'labels') is an int64 input shaped like logits without the class axis;
   * with `ignoreIndex`, labels equal to it (e.g. -100 for unlabelled tokens) count for nothing and
   * the mean is over the others.
   */
  | { kind: 'cross-entropy'; logits: string; labels?: string; ignoreIndex?: number; name?: string }
  /**
   * Distillation on soft targets: KL(softmax(teacher/T) || softmax(logits/T)) over the last axis,
   * averaged over the distributions (batchmean for [batch, classes]), times T^2 unless
   * `scaleByTemperatureSquared` is false (DistilBERT, Hinton et al.). `teacherLogits` (default
   * 'teacher_logits') is a float input shaped like logits.
   */
  | { kind: 'kl-divergence'; logits: string; teacherLogits?: string; temperature?: number; scaleByTemperatureSquared?: boolean; name?: string }
  /**
   * Mean squared error between a value and a same-shaped float input `target` (default 'target').
   * With `mask` (an int64 [batch, sequence] input such as 'attention_mask'), the mean is over the
   * elements at unmasked positions only: `maskOver` 'tokens' for [batch, sequence, ...] values
   * (hidden states), 'token-pairs' for [batch, heads, sequence, sequence] values (attention scores,
   * where both the query and the key position must be unmasked).
   */
  | { kind: 'mse'; output: string; target?: string; mask?: string; maskOver?: 'tokens' | 'token-pairs'; name?: string }
  /**
   * Soft cross-entropy to a teacher's distribution, TinyBERT's prediction loss:
   * mean over batch and classes of -softmax(teacher/T) * log_softmax(logits/T), no T^2.
   */
  | { kind: 'soft-cross-entropy'; logits: string; teacherLogits?: string; temperature?: number; name?: string }
  /**
   * Attention transfer (MobileBERT): KL(softmax(target) || softmax(output)) over the key axis of
   * [batch, heads, sequence, sequence] attention scores, averaged over heads and the queries at
   * unmasked positions of `mask` (an int64 [batch, sequence] input such as 'attention_mask').
   */
  | { kind: 'attention-kl'; output: string; target: string; mask: string; name?: string }
  /** A sum of losses reported as one term (TinyBERT's hidden loss over every mapped layer). */
  | { kind: 'group'; name: string; terms: LossSpec[] }
  /**
   * Embedding loss: mean over positions of 1 - cos(output, target) along the last axis (DistilBERT's
   * hidden-state alignment). `target` (default 'teacher_hidden') is a float input shaped like output;
   * `mask` (an existing input such as 'attention_mask', or a new int64 input) restricts the mean to
   * positions where it is non-zero.
   */
  | { kind: 'cosine'; output: string; target?: string; mask?: string; name?: string }
  /** A value the forward graph already computes (its mean, if it is not a scalar). */
  | { kind: 'value'; output: string; name?: string }
  /** Weighted sum of losses, e.g. DistilBERT's 5 * KL + 2 * CE + 1 * cosine. */
  | { kind: 'sum'; terms: Array<{ weight: number; loss: LossSpec }> };

export interface LossTerm {
  name: string;
  /** The scalar value of this term (before weighting). */
  value: string;
  /** Its weight in the total loss. */
  weight: number;
}

export interface LossBuildContext {
  em: Emitter;
  meta(name: string): ValueMeta | undefined;
  /** The graph's inputs so far; new ones the loss needs are appended. */
  inputs: ValueInfoSpec[];
  /** Dims for a new input shaped like (part of) a probed value: static dims as numbers, others symbolic. */
  dimsOf(m: ValueMeta, drop?: number): Array<number | string>;
}

export interface BuiltLoss {
  loss: string;
  terms: LossTerm[];
}

const EPS = 1e-12;

export function buildLoss(ctx: LossBuildContext, spec: LossSpec): BuiltLoss {
  const terms: LossTerm[] = [];
  const loss = build(ctx, spec, 1, terms);
  const seen = new Map<string, number>();
  for (const t of terms) {
    const k = seen.get(t.name) ?? 0;
    seen.set(t.name, k + 1);
    if (k > 0) t.name = `${t.name}_${k}`;
  }
  return { loss, terms };
}

function valueMeta(ctx: LossBuildContext, name: string, kind: string): ValueMeta {
  const m = ctx.meta(name);
  if (!m) throw new AutodiffError(`${kind} loss: the graph has no value named '${name}'`);
  if (m.dtype !== 'float32' && m.dtype !== 'float64') throw new AutodiffError(`${kind} loss: '${name}' is ${m.dtype}; losses take float32 or float64 values`);
  if (m.dims.length === 0) throw new AutodiffError(`${kind} loss: '${name}' is a scalar; it needs at least one axis`);
  return m;
}

/** An input the loss reads: an existing graph input of that name, or a new one. */
function lossInput(ctx: LossBuildContext, name: string, dtype: DType, dims: Array<number | string>): { name: string; dtype: DType } {
  const known = ctx.inputs.find((v) => v.name === name);
  if (known) return { name, dtype: known.dtype };
  if (ctx.meta(name)) throw new AutodiffError(`loss input '${name}' would shadow a value the graph computes; choose another name`);
  ctx.inputs.push({ name, dtype, shape: dims });
  return { name, dtype };
}

function build(ctx: LossBuildContext, spec: LossSpec, weight: number, terms: LossTerm[]): string {
  const { em } = ctx;
  switch (spec.kind) {
    case 'sum': {
      if (spec.terms.length === 0) throw new AutodiffError('sum loss: no terms');
      const parts = spec.terms.map((t) => {
        const v = build(ctx, t.loss, weight * t.weight, terms);
        return t.weight === 1 ? v : em.mul(v, em.scalar(dtypeOfTerm(ctx, t.loss), t.weight));
      });
      return parts.length === 1 ? parts[0] : em.op1('Sum', parts, undefined, 'loss_sum');
    }
    case 'value': {
      const m = ctx.meta(spec.output);
      if (!m) throw new AutodiffError(`value loss: the graph has no value named '${spec.output}'`);
      const v = m.dims.length === 0 ? spec.output : em.reduceAll('ReduceMean', spec.output);
      terms.push({ name: spec.name ?? 'value', value: v, weight });
      return v;
    }
    case 'cross-entropy': {
      const m = valueMeta(ctx, spec.logits, 'cross-entropy');
      const labels = lossInput(ctx, spec.labels ?? 'labels', 'int64', ctx.dimsOf(m, 1));
      let lab = labels.dtype === 'int64' ? labels.name : em.cast(labels.name, 'int64');
      const logp = em.op1('LogSoftmax', [spec.logits], { axis: attr.i(-1) });
      let valid: string | undefined;
      if (spec.ignoreIndex !== undefined) {
        valid = em.op1('Not', [em.op1('Equal', [lab, em.constant('int64', [], [spec.ignoreIndex])])]);
        lab = em.op1('Where', [valid, lab, em.constant('int64', [], [0])]);
      }
      const picked = em.op1('GatherElements', [logp, em.unsqueeze(lab, [-1])], { axis: attr.i(-1) });
      const nll = em.neg(em.squeeze(picked, [-1]));
      let v: string;
      if (valid) {
        const w = em.cast(valid, m.dtype);
        v = em.div(em.reduceAll('ReduceSum', em.mul(nll, w)), em.op1('Max', [em.reduceAll('ReduceSum', w), em.scalar(m.dtype, 1)]));
      } else {
        v = em.reduceAll('ReduceMean', nll);
      }
      terms.push({ name: spec.name ?? 'cross_entropy', value: v, weight });
      return v;
    }
    case 'kl-divergence': {
      const m = valueMeta(ctx, spec.logits, 'kl-divergence');
      const teacher = lossInput(ctx, spec.teacherLogits ?? 'teacher_logits', m.dtype, ctx.dimsOf(m));
      const T = spec.temperature ?? 1;
      if (!(T > 0)) throw new AutodiffError(`kl-divergence loss: temperature must be positive (got ${T})`);
      let s = spec.logits;
      let t = teacher.dtype === m.dtype ? teacher.name : em.cast(teacher.name, m.dtype);
      if (T !== 1) {
        s = em.div(s, em.scalar(m.dtype, T));
        t = em.div(t, em.scalar(m.dtype, T));
      }
      const logq = em.op1('LogSoftmax', [s], { axis: attr.i(-1) });
      const logp = em.op1('LogSoftmax', [t], { axis: attr.i(-1) });
      const p = em.op1('Exp', [logp]);
      const kl = em.reduceSum(em.mul(p, em.sub(logp, logq)), [-1], false);
      let v = em.reduceAll('ReduceMean', kl);
      if (T !== 1 && spec.scaleByTemperatureSquared !== false) v = em.mul(v, em.scalar(m.dtype, T * T));
      terms.push({ name: spec.name ?? 'kl_divergence', value: v, weight });
      return v;
    }
    case 'mse': {
      const m = valueMeta(ctx, spec.output, 'mse');
      const target = lossInput(ctx, spec.target ?? 'target', m.dtype, ctx.dimsOf(m));
      const d = em.sub(spec.output, target.dtype === m.dtype ? target.name : em.cast(target.name, m.dtype));
      const sq = em.mul(d, d);
      let v: string;
      if (spec.mask) {
        const pairs = spec.maskOver === 'token-pairs';
        if (m.dims.length < (pairs ? 4 : 2)) throw new AutodiffError(`mse loss: '${spec.output}' has ${m.dims.length} axes; a ${pairs ? 'token-pair' : 'token'} mask needs ${pairs ? '[batch, heads, sequence, sequence]' : '[batch, sequence, ...]'}`);
        const dims = ctx.dimsOf(m);
        const mask = lossInput(ctx, spec.mask, 'int64', pairs ? [dims[0], dims[2]] : dims.slice(0, 2));
        const w = em.cast(mask.name, m.dtype);
        // [batch, seq] -> [batch, seq, 1...] for tokens; query x key -> [batch, 1, seq, seq] for pairs.
        const weights = pairs
          ? em.mul(em.unsqueeze(w, [1, 3]), em.unsqueeze(w, [1, 2]))
          : em.unsqueeze(w, Array.from({ length: m.dims.length - 2 }, (_, i) => i + 2));
        const full = em.op1('Expand', [weights, em.shape(sq)]);
        v = em.div(em.reduceAll('ReduceSum', em.mul(sq, full)), em.op1('Max', [em.reduceAll('ReduceSum', full), em.scalar(m.dtype, 1)]));
      } else {
        v = em.reduceAll('ReduceMean', sq);
      }
      terms.push({ name: spec.name ?? 'mse', value: v, weight });
      return v;
    }
    case 'soft-cross-entropy': {
      const m = valueMeta(ctx, spec.logits, 'soft-cross-entropy');
      const teacher = lossInput(ctx, spec.teacherLogits ?? 'teacher_logits', m.dtype, ctx.dimsOf(m));
      const T = spec.temperature ?? 1;
      if (!(T > 0)) throw new AutodiffError(`soft-cross-entropy loss: temperature must be positive (got ${T})`);
      let s = spec.logits;
      let t = teacher.dtype === m.dtype ? teacher.name : em.cast(teacher.name, m.dtype);
      if (T !== 1) { s = em.div(s, em.scalar(m.dtype, T)); t = em.div(t, em.scalar(m.dtype, T)); }
      const p = em.op1('Softmax', [t], { axis: attr.i(-1) });
      const logq = em.op1('LogSoftmax', [s], { axis: attr.i(-1) });
      const v = em.neg(em.reduceAll('ReduceMean', em.mul(p, logq)));
      terms.push({ name: spec.name ?? 'soft_cross_entropy', value: v, weight });
      return v;
    }
    case 'attention-kl': {
      const m = valueMeta(ctx, spec.output, 'attention-kl');
      if (m.dims.length !== 4) throw new AutodiffError(`attention-kl loss: '${spec.output}' has ${m.dims.length} axes; attention scores are [batch, heads, sequence, sequence]`);
      const target = lossInput(ctx, spec.target, m.dtype, ctx.dimsOf(m));
      const dims = ctx.dimsOf(m);
      const mask = lossInput(ctx, spec.mask, 'int64', [dims[0], dims[2]]);
      const t = target.dtype === m.dtype ? target.name : em.cast(target.name, m.dtype);
      const logp = em.op1('LogSoftmax', [t], { axis: attr.i(-1) });
      const logq = em.op1('LogSoftmax', [spec.output], { axis: attr.i(-1) });
      const kl = em.reduceSum(em.mul(em.op1('Exp', [logp]), em.sub(logp, logq)), [-1], false);
      const w = em.op1('Expand', [em.unsqueeze(em.cast(mask.name, m.dtype), [1]), em.shape(kl)]);
      const v = em.div(em.reduceAll('ReduceSum', em.mul(kl, w)), em.op1('Max', [em.reduceAll('ReduceSum', w), em.scalar(m.dtype, 1)]));
      terms.push({ name: spec.name ?? 'attention_kl', value: v, weight });
      return v;
    }
    case 'group': {
      if (spec.terms.length === 0) throw new AutodiffError(`group loss '${spec.name}': no terms`);
      // The parts are built but not reported: the group is one term.
      const parts = spec.terms.map((t) => build(ctx, t, weight, []));
      const v = parts.length === 1 ? parts[0] : em.op1('Sum', parts, undefined, `loss_${spec.name}`);
      terms.push({ name: spec.name, value: v, weight });
      return v;
    }
    case 'cosine': {
      const m = valueMeta(ctx, spec.output, 'cosine');
      const target = lossInput(ctx, spec.target ?? 'teacher_hidden', m.dtype, ctx.dimsOf(m));
      const a = spec.output;
      const b = target.dtype === m.dtype ? target.name : em.cast(target.name, m.dtype);
      const eps = em.scalar(m.dtype, EPS);
      const dot = em.reduceSum(em.mul(a, b), [-1], false);
      const na = em.add(em.reduceSum(em.mul(a, a), [-1], false), eps);
      const nb = em.add(em.reduceSum(em.mul(b, b), [-1], false), eps);
      const cos = em.div(dot, em.op1('Sqrt', [em.mul(na, nb)]));
      const per = em.sub(em.scalar(m.dtype, 1), cos);
      let v: string;
      if (spec.mask) {
        const mask = lossInput(ctx, spec.mask, 'int64', ctx.dimsOf(m, 1));
        const w = em.cast(mask.name, m.dtype);
        v = em.div(em.reduceAll('ReduceSum', em.mul(per, w)), em.op1('Max', [em.reduceAll('ReduceSum', w), eps]));
      } else {
        v = em.reduceAll('ReduceMean', per);
      }
      terms.push({ name: spec.name ?? 'cosine', value: v, weight });
      return v;
    }
    default:
      throw new AutodiffError(`unknown loss kind '${(spec as { kind: string }).kind}'`);
  }
}

function dtypeOfTerm(ctx: LossBuildContext, spec: LossSpec): DType {
  switch (spec.kind) {
    case 'sum': return dtypeOfTerm(ctx, spec.terms[0].loss);
    case 'cross-entropy': case 'kl-divergence': case 'soft-cross-entropy': return ctx.meta(spec.logits)?.dtype ?? 'float32';
    case 'group': return dtypeOfTerm(ctx, spec.terms[0]);
    case 'attention-kl': return ctx.meta(spec.output)?.dtype ?? 'float32';
    default: return ctx.meta(spec.output)?.dtype ?? 'float32';
  }
}
