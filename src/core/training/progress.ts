// What a training job reports while it runs, shaped for a live chart: steps come in small batches
// (the newest only, never the history again), evaluations and phases as they happen.
import type { EvalLog, StepLog } from './trainer';
import type { LayerMap } from '../distill/layer-map';

export type TrainProgress =
  /** Once the data is tokenized and the graph built: the plan of the run. */
  | {
    type: 'start'; totalSteps: number; stepsPerEpoch: number; epochs: number; startStep: number; terms: string[]; trainExamples: number; evalExamples?: number;
    /** Distillation: which teacher layer initialises and supervises which student layer (0 = embeddings). */
    layerMap?: LayerMap;
    /** Distillation: the stages in order, with the step each starts at. */
    stages?: Array<{ name: string; startStep: number; steps: number }>;
  }
  /** Steps finished since the last report, oldest first. */
  | { type: 'steps'; steps: StepLog[] }
  | { type: 'eval'; eval: EvalLog }
  /** What the job is busy with between steps (tokenizing, building the training graph, saving). */
  | { type: 'phase'; message: string }
  | { type: 'checkpoint'; file: string; step: number };
