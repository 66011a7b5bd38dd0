// The float model and its quantized copy on the same evaluation rows: each one's accuracy, how
// often their argmax agrees, and how far their logits are apart. Both run in onnxruntime with all
// graph optimizations, so the int8 figures are those of the fused kernels a user would run.
import * as ort from 'onnxruntime-node';
import type { Batcher } from '../training/data/batcher';
import { classifierFeeds } from '../training/training-run';

export interface AgreementReport {
  examples: number;
  /** Accuracy against the labels, float model and quantized model. */
  accuracy: { before: number; after: number };
  /** Fraction of rows whose argmax is the same in both. */
  agreement: number;
  /** Largest and mean absolute difference of a logit. */
  maxLogitDiff: number;
  meanLogitDiff: number;
}

function argmax(v: Float32Array, from: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (v[from + c] > v[from + best]) best = c;
  return best;
}

export async function compareOnData(before: string, after: string, data: Batcher, options: { threads?: number; isCancelled?: () => boolean; onBatch?: (done: number, total: number) => void } = {}): Promise<AgreementReport | undefined> {
  const opts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', intraOpNumThreads: options.threads ?? 1, logSeverityLevel: 3 };
  const fp = await ort.InferenceSession.create(before, opts);
  const q = await ort.InferenceSession.create(after, opts);
  try {
    let examples = 0, rightBefore = 0, rightAfter = 0, agree = 0, maxDiff = 0, sumDiff = 0, logits = 0, done = 0;
    const total = data.batchesPerEpoch;
    for (const { batch } of data.epoch(0)) {
      if (options.isCancelled?.()) return undefined;
      const a = (await fp.run(classifierFeeds([...fp.inputNames], batch)))[fp.outputNames[0]];
      const b = (await q.run(classifierFeeds([...q.inputNames], batch)))[q.outputNames[0]];
      const classes = a.dims[a.dims.length - 1];
      const va = a.data as Float32Array;
      const vb = b.data as Float32Array;
      for (let i = 0; i < batch.batch; i++) {
        const pa = argmax(va, i * classes, classes);
        const pb = argmax(vb, i * classes, classes);
        const label = Number(batch.labels[i]);
        if (pa === label) rightBefore++;
        if (pb === label) rightAfter++;
        if (pa === pb) agree++;
        examples++;
      }
      for (let j = 0; j < va.length; j++) {
        const d = Math.abs(va[j] - vb[j]);
        if (d > maxDiff) maxDiff = d;
        sumDiff += d;
        logits++;
      }
      options.onBatch?.(++done, total);
    }
    const n = Math.max(1, examples);
    return { examples, accuracy: { before: rightBefore / n, after: rightAfter / n }, agreement: agree / n, maxLogitDiff: maxDiff, meanLogitDiff: sumDiff / Math.max(1, logits) };
  } finally {
    await fp.release();
    await q.release();
  }
}
