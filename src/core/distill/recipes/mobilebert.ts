// MobileBERT-style: a bottleneck body with the teacher's width between blocks and its heads,
// trained by feature-map transfer (MSE of each mapped layer's output) and attention transfer (KL
// between attention distributions), jointly or layer by layer (progressive, lower layers frozen),
// then by prediction-layer distillation on the logits.
import type { LossSpec } from '../../training/autodiff/losses';
import { DISTILL_DEFAULTS, type DistillOptions } from '../distill-options';
import { tinyLayerMap } from '../layer-map';
import { findSignals } from '../signals';
import { mobilebertStudent } from '../students';
import { firstStageSettings, logitTerms, teacherInput, type RecipeContext, type RecipePlan, type StagePlan } from './recipe';

export function mobilebertRecipe({ o, teacher, state, withLabels }: RecipeContext): RecipePlan {
  const student = mobilebertStudent({ ...state.config, numHeads: teacher.heads || state.config.numHeads }, { layers: o.layers, embedding: o.embedding, bottleneck: o.bottleneck, ffns: o.ffns, intermediate: o.intermediate, seed: o.seed });
  const map = tinyLayerMap(teacher.layers, student.config.numLayers);
  const s = findSignals(student.spec);
  const layerLoss = (m: number): { fmt: LossSpec; at: LossSpec } => ({
    fmt: { kind: 'mse', output: s.hidden[m - 1]!, target: teacherInput(`hidden_${map[m]}`), mask: 'attention_mask', maskOver: 'tokens' },
    at: { kind: 'attention-kl', output: s.attentionScores[m - 1]!, target: teacherInput(`attn_${map[m]}`), mask: 'attention_mask' },
  });
  const stages: StagePlan[] = [];
  const M = student.config.numLayers;
  if (!o.logitsOnly) {
    const first = firstStageSettings(o);
    const transfer = (layers: number[]): StagePlan => ({
      name: layers.length === 1 && o.progressive ? `transfer-${layers[0]}` : 'transfer',
      forward: student.spec,
      needs: layers.flatMap((m) => [`hidden_${map[m]}`, `attn_${map[m]}`]),
      loss: { kind: 'sum', terms: [
        { weight: 1, loss: { kind: 'group', name: 'fmt', terms: layers.map((m) => layerLoss(m).fmt) } },
        { weight: 1, loss: { kind: 'group', name: 'at', terms: layers.map((m) => layerLoss(m).at) } },
      ] },
      settings: o.progressive ? splitLength(first, M) : first,
      // Progressive transfer trains layer m alone (and the embeddings with the first), lower layers frozen.
      ...(o.progressive ? { trainable: (name: string) => name.includes(`.encoder.layer.${layers[0] - 1}.`) || (layers[0] === 1 && name.includes('.embeddings.')) } : {}),
    });
    if (o.progressive) for (let m = 1; m <= M; m++) stages.push(transfer([m]));
    else stages.push(transfer(Array.from({ length: M }, (_, i) => i + 1)));
  }
  stages.push({ name: 'prediction', forward: student.spec, needs: ['logits'], loss: { kind: 'sum', terms: logitTerms(o, DISTILL_DEFAULTS.mobilebert, withLabels) } });
  return { student, stages, layerMap: student.layerMap, notes: [] };
}

/** A progressive transfer gives each layer an equal share of the stage's length. */
function splitLength(settings: Partial<DistillOptions>, layers: number): Partial<DistillOptions> {
  return {
    ...settings,
    ...(settings.maxSteps ? { maxSteps: Math.max(1, Math.floor(settings.maxSteps / layers)) } : {}),
    ...(settings.epochs ? { epochs: Math.max(1, Math.floor(settings.epochs / layers)) } : {}),
  };
}
