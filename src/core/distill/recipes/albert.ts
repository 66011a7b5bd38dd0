// ALBERT-style: shared layers and factorised embeddings initialised from the teacher (SVD of its
// embeddings, the mean of the layers each group replaces), trained on the teacher's logits and,
// the widths being equal, on its hidden states at the mapped layers (MSE over real tokens).
import type { LossSpec } from '../../training/autodiff/losses';
import { OptionsError } from '../../errors';
import { DISTILL_DEFAULTS } from '../distill-options';
import { tinyLayerMap } from '../layer-map';
import { findSignals } from '../signals';
import { albertStudent } from '../students';
import { logitTerms, teacherInput, type RecipeContext, type RecipePlan } from './recipe';

export function albertRecipe({ o, teacher, state, withLabels }: RecipeContext): RecipePlan {
  const student = albertStudent(state, teacher.file, { layers: o.layers, embedding: o.embedding, groups: o.groups, shareInit: o.shareInit, seed: o.seed });
  const d = DISTILL_DEFAULTS.albert;
  const terms: Array<{ weight: number; loss: LossSpec }> = logitTerms(o, d, withLabels);
  const needs = ['logits'];
  const alphaHidden = o.logitsOnly ? 0 : (o.alphaHidden ?? d.alphaHidden);
  const map = tinyLayerMap(teacher.layers, student.config.numLayers);
  const links = [...student.layerMap.links];
  if (alphaHidden > 0) {
    const s = findSignals(student.spec);
    const hidden: LossSpec[] = [];
    for (let m = 1; m < map.length; m++) {
      needs.push(`hidden_${map[m]}`);
      hidden.push({ kind: 'mse', output: s.hidden[m - 1]!, target: teacherInput(`hidden_${map[m]}`), mask: 'attention_mask', maskOver: 'tokens' });
      const init = links.findIndex((l) => l.student === m && l.teacher === map[m]);
      if (init >= 0) links[init] = { ...links[init], role: 'both' }; else links.push({ student: m, teacher: map[m], role: 'supervise' });
    }
    terms.push({ weight: alphaHidden, loss: { kind: 'group', name: 'hidden', terms: hidden } });
  }
  if (terms.length === 0) throw new OptionsError('alphaKd', 'leaves no loss term');
  return {
    student, layerMap: { ...student.layerMap, links },
    notes: [`factorised embeddings: the top-${student.config.embeddingSize} SVD of the teacher's word embeddings keeps them to a relative error of ${(100 * student.svdError).toFixed(1)}% (Frobenius)`],
    stages: [{ name: 'distillation', forward: student.spec, loss: { kind: 'sum', terms }, needs }],
  };
}
