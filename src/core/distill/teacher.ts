// The teacher in a distillation job: its graph, where its signals are, and a session that runs
// it on a batch and returns the signals a recipe asks for (logits, hidden states, attention
// scores), by the keys the teacher cache and the student's loss inputs use.
import * as ort from 'onnxruntime-node';
import { analyzeModel, type ModelCard } from '../analysis/model-card';
import { hashFiles } from '../benchmark/environment';
import { UnsupportedModelError } from '../errors';
import { forwardSpecFromModel } from '../onnx/forward-spec';
import type { ModelSpec } from '../onnx/model-spec';
import { serializeModel } from '../onnx/onnx-writer';
import { openModel } from '../open-model';
import type { ModelFile } from '../model';
import { readStateDict } from '../convert/state-dict';
import { buildFromStateDict } from '../convert/from-state-dict';
import type { Batch } from '../training/types';
import { classifierFeeds } from '../training/training-run';
import { findSignals, withOutputs, type EncoderSignals } from './signals';
import type { SignalShape } from './teacher-cache';

export interface Teacher {
  file: string;
  /** What was read: for a checkpoint or a Hugging Face folder, its weights (the spec is the builder's graph of them). */
  model: ModelFile;
  sha256: string;
  spec: ModelSpec;
  card: ModelCard;
  signals: EncoderSignals;
  numLabels: number;
  hidden: number;
  heads: number;
  layers: number;
}

/**
 * An ONNX classifier as it is; a Hugging Face folder or checkpoint converted to the builder's
 * graph of its weights (which gives the exporter's logits: tested on every shared model).
 */
export async function openTeacher(file: string): Promise<Teacher> {
  const model = await openModel(file);
  const card = analyzeModel(model);
  const spec = model.format === 'onnx' ? forwardSpecFromModel(model) : converted(model);
  const a = card.architecture;
  const numLabels = a.numLabels;
  if (!numLabels) throw new UnsupportedModelError(model.weightsPath, 'cannot tell how many classes the teacher has (no classifier head found)');
  const signals = findSignals(spec);
  return {
    file: model.weightsPath,
    model,
    sha256: await hashFiles(model.files.map((f) => f.path)),
    spec, card, signals, numLabels,
    hidden: a.hiddenSize ?? 0, heads: a.numHeads ?? (await headsFromGraph(spec, signals)), layers: a.layers,
  };
}

function converted(model: ModelFile): ModelSpec {
  const r = readStateDict(model);
  return buildFromStateDict(r.config, r.tensors, { source: model.weightsPath });
}

/** Weights do not tell the head count (config.json does); without one, the scores' shape does. */
async function headsFromGraph(spec: ModelSpec, signals: EncoderSignals): Promise<number> {
  const scores = signals.attentionScores[0];
  if (!scores) return 0;
  const session = await ort.InferenceSession.create(serializeModel(withOutputs(spec, [{ name: scores, rank: 4 }])));
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const i of spec.graph.inputs) feeds[i.name] = new ort.Tensor('int64', BigInt64Array.from([1n, 1n]), [1, 2]);
    return (await session.run(feeds, [scores]))[scores].dims[1];
  } finally {
    await session.release();
  }
}

/** A signal the job needs from the teacher: its cache shape and the graph value holding it. */
export interface WantedSignal extends SignalShape {
  value: string;
}

/** Key conventions: `logits`, `hidden_<l>` (l = 0 embeddings, 1.. layers), `attn_<l>` (1.. layers). */
export function teacherSignal(t: Teacher, key: string): WantedSignal {
  if (key === 'logits') return { key, kind: 'logits', width: t.numLabels, value: t.signals.logits };
  const m = /^(hidden|attn)_(\d+)$/.exec(key);
  if (!m) throw new Error(`unknown teacher signal '${key}'`);
  const l = Number(m[2]);
  if (m[1] === 'hidden') {
    const value = l === 0 ? t.signals.embeddings : t.signals.hidden[l - 1];
    if (!value) throw new UnsupportedModelError(t.file, `the teacher's ${l === 0 ? 'embeddings output' : `layer ${l} output`} was not found in its graph (${t.signals.missing.join('; ') || 'no layers recognised'}); distil from the logits alone (option 'logitsOnly')`);
    return { key, kind: 'tokens', width: t.hidden, value };
  }
  const value = t.signals.attentionScores[l - 1];
  if (!value) throw new UnsupportedModelError(t.file, `the teacher's attention scores of layer ${l} were not found in its graph (${t.signals.missing.join('; ')}); distil from the logits alone (option 'logitsOnly')`);
  return { key, kind: 'pairs', width: t.heads, value };
}

/** Runs the teacher on batches, returning the wanted signals by key. */
export class TeacherSession {
  private constructor(private readonly session: ort.InferenceSession, private readonly wanted: WantedSignal[], private readonly inputs: string[]) {}

  static async create(t: Teacher, wanted: WantedSignal[], threads?: number): Promise<TeacherSession> {
    const rank = (w: WantedSignal) => (w.kind === 'logits' ? 2 : w.kind === 'tokens' ? 3 : 4);
    const spec = withOutputs(t.spec, wanted.map((w) => ({ name: w.value, rank: rank(w) })));
    const session = await ort.InferenceSession.create(serializeModel(spec), { graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
    return new TeacherSession(session, wanted, t.spec.graph.inputs.map((i) => i.name));
  }

  async run(batch: Batch): Promise<Record<string, Float32Array>> {
    const out = await this.session.run(classifierFeeds(this.inputs, batch), this.wanted.map((w) => w.value));
    const result: Record<string, Float32Array> = {};
    for (const w of this.wanted) result[w.key] = out[w.value].data as Float32Array;
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
