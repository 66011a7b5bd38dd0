// What a recipe decides: the student (built from the teacher), the stages that train it (each a
// graph, a loss over teacher signals, a length), and the teacher -> student layer map to draw.
// The distillation job runs whatever stages a recipe returns through the one training loop.
import type { ModelSpec } from '../../onnx/model-spec';
import type { LossSpec } from '../../training/autodiff/losses';
import type { DistillOptions } from '../distill-options';
import type { LayerMap } from '../layer-map';
import type { StateDict, Student } from '../students';
import type { Teacher } from '../teacher';

export interface RecipeContext {
  o: DistillOptions;
  teacher: Teacher;
  state: StateDict;
  /** Whether the training data has labels (the CE term is dropped when it has none). */
  withLabels: boolean;
}

export interface StagePlan {
  name: string;
  forward: ModelSpec;
  loss: LossSpec;
  /** Teacher signals the loss reads: 'logits', 'hidden_<l>', 'attn_<l>'. */
  needs: string[];
  /** Options this stage runs with instead of the job's (its length and rate). */
  settings?: Partial<DistillOptions>;
  /** Which initializers train in this stage (default: every weight of the graph). */
  trainable?: (name: string) => boolean;
}

export interface RecipePlan {
  student: Student;
  stages: StagePlan[];
  layerMap: LayerMap;
  /** Facts worth the user's eye (an SVD's reconstruction error). */
  notes: string[];
}

/** The name the training graph gives the teacher's signal `key` as an input. */
export const teacherInput = (key: string) => `teacher_${key}`;

/** The first stage's own length and rate (TinyBERT's intermediate, MobileBERT's transfer stage). */
export function firstStageSettings(o: DistillOptions): Partial<DistillOptions> {
  return { lr: o.stage1Lr ?? o.lr, ...(o.stage1Epochs || o.stage1Steps ? { epochs: o.stage1Epochs, maxSteps: o.stage1Steps } : {}) };
}

/** KD on the logits (T^2 KL) and CE on the labels, the terms every recipe's last stage shares. */
export function logitTerms(o: DistillOptions, defaults: { temperature: number; alphaKd: number; alphaCe: number }, withLabels: boolean): Array<{ weight: number; loss: LossSpec }> {
  const terms: Array<{ weight: number; loss: LossSpec }> = [];
  const kd = o.alphaKd ?? defaults.alphaKd;
  const ce = withLabels ? (o.alphaCe ?? defaults.alphaCe) : 0;
  if (kd > 0) terms.push({ weight: kd, loss: { kind: 'kl-divergence', logits: 'logits', teacherLogits: teacherInput('logits'), temperature: o.temperature ?? defaults.temperature, name: 'kd' } });
  if (ce > 0) terms.push({ weight: ce, loss: { kind: 'cross-entropy', logits: 'logits', name: 'ce' } });
  return terms;
}
