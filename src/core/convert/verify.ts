// A conversion from an ONNX graph can be checked, not just trusted: both graphs run in
// onnxruntime on the same token ids, padding and segments, and their logits are compared.
import * as ort from 'onnxruntime-node';
import type { EncoderConfig } from '../onnx/bert-builder';

export type LogitsCheck =
  | { checked: true; maxAbsDiff: number; batch: number; seq: number }
  | { checked: false; reason: string };

const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);

/** Deterministic ids inside the vocabulary; the second row padded at its end; two segments. */
export function sampleFeeds(config: EncoderConfig, names: readonly string[], batch = 2, seq = Math.min(16, config.maxPositions)): Record<string, ort.Tensor> {
  let s = 7;
  const n = batch * seq;
  const ids = BigInt64Array.from({ length: n }, () => BigInt((s = (s * 1103515245 + 12345) % 2 ** 31) % config.vocabSize));
  const pad = Math.min(3, seq - 1);
  const mask = BigInt64Array.from({ length: n }, (_, i) => (i >= seq && i % seq >= seq - pad ? 0n : 1n));
  const types = (config.typeVocabSize ?? 2) > 1 ? BigInt64Array.from({ length: n }, (_, i) => (i % seq >= seq / 2 ? 1n : 0n)) : new BigInt64Array(n);
  const all: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [batch, seq]),
    attention_mask: new ort.Tensor('int64', mask, [batch, seq]),
    token_type_ids: new ort.Tensor('int64', types, [batch, seq]),
  };
  return Object.fromEntries(names.map((k) => [k, all[k]]));
}

/**
 * Runs `reference` (a file or serialized model) and `candidate` on the same inputs and returns the
 * largest logit difference, or why they could not be compared (inputs other than ids, mask and
 * token types; outputs of other shapes).
 */
export async function compareLogits(reference: string | Uint8Array, candidate: Uint8Array, config: EncoderConfig): Promise<LogitsCheck> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const ref = typeof reference === 'string' ? await ort.InferenceSession.create(reference, options) : await ort.InferenceSession.create(reference, options);
  const ours = await ort.InferenceSession.create(candidate, options);
  try {
    const other = ref.inputNames.find((n) => !KNOWN_INPUTS.has(n));
    if (other) return { checked: false, reason: `the source graph takes input '${other}'` };
    const batch = 2;
    const seq = Math.min(16, config.maxPositions);
    const a = (await ref.run(sampleFeeds(config, ref.inputNames, batch, seq)))[ref.outputNames.includes('logits') ? 'logits' : ref.outputNames[0]];
    const b = (await ours.run(sampleFeeds(config, ours.inputNames, batch, seq))).logits;
    if (a.type !== 'float32' || a.data.length !== b.data.length) return { checked: false, reason: `the source graph's output is ${a.type} [${a.dims.join(', ')}], not [${batch}, ${config.numLabels}] logits` };
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    let d = 0;
    for (let i = 0; i < x.length; i++) {
      const e = Math.abs(x[i] - y[i]);
      if (!(e <= d)) d = Number.isNaN(e) ? Infinity : e;
    }
    return { checked: true, maxAbsDiff: d, batch, seq };
  } finally {
    await ref.release();
    await ours.release();
  }
}
