// Runs an encoder classifier in onnxruntime on fixed inputs: the same ids, padding and segments for
// every graph compared, so equal logits mean equal models.
import * as ort from 'onnxruntime-node';

/** Ids inside `vocab`, the second row padded by two, token types 0 then 1. */
export function encoderFeeds(inputNames: readonly string[], batch: number, seq: number, vocab: number, seed = 1): Record<string, ort.Tensor> {
  let s = seed;
  const ids = BigInt64Array.from({ length: batch * seq }, () => BigInt((s = (s * 1103515245 + 12345) % 2 ** 31) % vocab));
  const mask = BigInt64Array.from({ length: batch * seq }, (_, i) => (i % seq < seq - (i < seq ? 0 : 2) ? 1n : 0n));
  const f: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [batch, seq]), attention_mask: new ort.Tensor('int64', mask, [batch, seq]) };
  if (inputNames.includes('token_type_ids')) f.token_type_ids = new ort.Tensor('int64', BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(i % seq >= seq / 2 ? 1 : 0)), [batch, seq]);
  return f;
}

/** The logits of a model (a file or serialized bytes) on encoderFeeds(2 x 11). */
export async function logitsOf(model: string | Uint8Array, vocab: number): Promise<Float32Array> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    return (await session.run(encoderFeeds(session.inputNames, 2, 11, vocab))).logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!(e <= d)) d = Number.isNaN(e) ? Infinity : e;
  }
  return d;
}
