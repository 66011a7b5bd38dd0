// What onnxruntime makes of a quantized model: the optimized graph it would run, written by the
// session itself (optimizedModelFilePath), and which quantized ops in it are fused kernels. This
// is the evidence that the emitted chain is the one onnxruntime's CPU provider recognises.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { openModel } from '../open-model';

export interface FusionCheck {
  /** Op counts in the optimized graph, keyed `domain:op` ('' domain for ONNX's own). */
  ops: Record<string, number>;
  /** com.microsoft DynamicQuantizeMatMul: quantization of A, the integer product, scales and bias in one kernel. */
  dynamicQuantizeMatMul: number;
  /** com.microsoft MatMulIntegerToFloat: the same on activations quantized once for several products (Q, K, V). */
  matMulIntegerToFloat: number;
  /** MatMulInteger nodes onnxruntime left unfused (each would run with its Cast and Muls as separate kernels). */
  unfused: number;
}

const FUSED = ['com.microsoft:DynamicQuantizeMatMul', 'com.microsoft:MatMulIntegerToFloat'];

/** Loads the model in onnxruntime at graph optimization level 'all' and counts the ops it ends with. */
export async function checkFusion(modelFile: string, threads = 1): Promise<FusionCheck> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-fusion-'));
  try {
    const optimized = path.join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(modelFile, {
      graphOptimizationLevel: 'all', optimizedModelFilePath: optimized, intraOpNumThreads: threads, logSeverityLevel: 3,
    });
    await session.release();
    const model = await openModel(optimized);
    const ops: Record<string, number> = {};
    for (const n of model.onnx?.nodes ?? []) {
      const key = `${n.domain === 'ai.onnx' ? '' : n.domain}:${n.opType}`;
      ops[key] = (ops[key] ?? 0) + 1;
    }
    return {
      ops,
      dynamicQuantizeMatMul: ops[FUSED[0]] ?? 0,
      matMulIntegerToFloat: ops[FUSED[1]] ?? 0,
      unfused: ops[':MatMulInteger'] ?? 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
