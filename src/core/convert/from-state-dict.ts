// The builder's graph with a state dict's weights in place of its random ones. The builder names
// and shapes every initializer the Hugging Face way, so a state dict either fits it exactly or
// the mismatch is listed tensor by tensor.
import { UnsupportedModelError } from '../errors';
import { buildEncoderClassifier, type EncoderConfig } from '../onnx/bert-builder';
import type { ModelSpec } from '../onnx/model-spec';
import type { StateDict } from './state-dict';

// Stands in for values the build will not keep (a listing, or a build that is about to fail), so
// no random initialisation is paid for: 4 s for bert-base.
const PLACEHOLDER = new Float32Array(0);

/** Every initializer the builder emits for this config, by name, with its dims, in graph order. */
export function builderShapes(config: EncoderConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  buildEncoderClassifier(config, { weights: (name, dims) => { out.set(name, [...dims]); return PLACEHOLDER; } });
  return out;
}

export interface StateDictFit {
  missing: string[];
  /** 'name: [given] where the graph needs [expected]'. */
  mismatched: string[];
  extra: string[];
}

/** How a state dict fits the builder's initializers for `config`. */
export function fitStateDict(config: EncoderConfig, tensors: StateDict): StateDictFit {
  const expected = builderShapes(config);
  const fit: StateDictFit = { missing: [], mismatched: [], extra: [] };
  for (const [name, dims] of expected) {
    const t = tensors.get(name);
    if (!t) fit.missing.push(name);
    else if (!sameDims(t.dims, dims) || t.values.length !== dims.reduce((p, d) => p * d, 1)) {
      fit.mismatched.push(`${name}: [${t.dims.join(', ')}]${t.values.length !== t.dims.reduce((p, d) => p * d, 1) ? ` with ${t.values.length} values` : ''} where the graph needs [${dims.join(', ')}]`);
    }
  }
  for (const name of tensors.keys()) if (!expected.has(name)) fit.extra.push(name);
  return fit;
}

/** The problem a bad fit is, in one sentence; undefined when every initializer is given with its shape. */
export function fitProblem(fit: StateDictFit): string | undefined {
  const parts: string[] = [];
  if (fit.missing.length) parts.push(`${fit.missing.length} tensor(s) the graph needs are missing: ${list(fit.missing)}`);
  if (fit.mismatched.length) parts.push(`${fit.mismatched.length} tensor(s) have the wrong shape: ${list(fit.mismatched)}`);
  return parts.length ? parts.join('; ') : undefined;
}

export interface FromStateDictOptions {
  /** Names the model in errors (its file). */
  source?: string;
  /** Receives the warnings (tensors the graph does not use). */
  warnings?: string[];
}

/**
 * buildEncoderClassifier(config) with `tensors` as its initializers (used in place, not copied).
 * Every initializer must be given with its shape, or UnsupportedModelError lists what is missing
 * and what does not fit; tensors the graph does not use are a warning.
 */
export function buildFromStateDict(config: EncoderConfig, tensors: StateDict, options: FromStateDictOptions = {}): ModelSpec {
  const source = options.source ?? 'state dict';
  let fit: StateDictFit;
  try {
    fit = fitStateDict(config, tensors);
  } catch (e) {
    // The builder's own checks (heads dividing the width, ALBERT groups dividing the layers).
    throw new UnsupportedModelError(source, `the config cannot be built: ${(e as Error).message}`);
  }
  const problem = fitProblem(fit);
  if (problem) throw new UnsupportedModelError(source, problem);
  if (fit.extra.length) options.warnings?.push(`${fit.extra.length} tensor(s) are not used by the ${config.family} graph: ${list(fit.extra)}`);
  return buildEncoderClassifier(config, { weights: (name) => tensors.get(name)!.values });
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function list(names: string[], max = 6): string {
  return `${names.slice(0, max).join(', ')}${names.length > max ? ` and ${names.length - max} more` : ''}`;
}
