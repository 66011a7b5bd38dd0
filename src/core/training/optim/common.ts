// Shared by the optimizers: checks on what they are given, and the weight-decay exclusion rule.
import type { Gradients, OptimizerState, Parameter } from '../types';

/**
 * Whether a parameter is left out of weight decay by default: biases and LayerNorm weights, as in
 * Hugging Face's fine-tuning recipe (no_decay = ["bias", "LayerNorm.weight"]). Exported ONNX
 * graphs do not always keep PyTorch's names, so any rank-0/1 tensor counts too: in a BERT those
 * are exactly the biases and the LayerNorm gains and shifts.
 */
export function defaultNoDecay(name: string, shape: readonly number[]): boolean {
  if (shape.length <= 1) return true;
  return /(^|[./_:])bias$/i.test(name) || /layer_?norm|\bln_?\d*\b|norm\.weight$/i.test(name);
}

/** Never excludes anything from weight decay. */
export function decayAll(): boolean {
  return false;
}

/** The parameter's gradient, checked for size; undefined (skip the parameter) when there is none. */
export function gradientFor(p: Parameter, grads: Gradients): Float32Array | undefined {
  const g = grads.get(p.name);
  if (g === undefined) return undefined;
  if (g.length !== p.values.length) {
    throw new Error(`gradient of '${p.name}' has ${g.length} values but the parameter has ${p.values.length}`);
  }
  return g;
}

/** A state slot, created zeroed on first use, checked for size when it came from a checkpoint. */
export function slotFor(slots: Record<string, Float32Array>, key: string, n: number): { slot: Float32Array; fresh: boolean } {
  const s = slots[key];
  if (s === undefined) {
    const slot = new Float32Array(n);
    slots[key] = slot;
    return { slot, fresh: true };
  }
  if (s.length !== n) throw new Error(`optimizer state '${key}' has ${s.length} values but the parameter has ${n}`);
  return { slot: s, fresh: false };
}

export function checkLr(lr: number): void {
  if (!Number.isFinite(lr) || lr < 0) throw new Error(`learning rate must be a finite number >= 0, got ${lr}`);
}

export function checkHyper(name: string, v: number, min: number, maxExclusive = Infinity): void {
  if (!Number.isFinite(v) || v < min || v >= maxExclusive) {
    throw new Error(`${name} must be in [${min}, ${maxExclusive === Infinity ? 'inf' : maxExclusive}), got ${v}`);
  }
}

/** Copies a state's slots (the loaded optimizer must not share arrays with whoever owns `state`). */
export function copySlots(state: OptimizerState, kind: OptimizerState['kind'], slotNames: readonly string[]): Record<string, Float32Array> {
  if (state.kind !== kind) throw new Error(`cannot load ${state.kind} optimizer state into a ${kind} optimizer`);
  if (!Number.isSafeInteger(state.step) || state.step < 0) throw new Error(`optimizer state step must be an integer >= 0, got ${state.step}`);
  const slots: Record<string, Float32Array> = {};
  for (const [key, values] of Object.entries(state.slots)) {
    const slash = key.indexOf('/');
    if (slash <= 0 || !slotNames.includes(key.slice(0, slash))) {
      throw new Error(`${kind} optimizer state has an unknown slot '${key}' (expected ${slotNames.map((s) => `'${s}/<parameter>'`).join(' or ')})`);
    }
    slots[key] = Float32Array.from(values);
  }
  return slots;
}
