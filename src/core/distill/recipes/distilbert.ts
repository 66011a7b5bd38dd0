// DistilBERT-style: the student keeps some of the teacher's layers with their weights and learns
// alpha_kd * T^2 * KL + alpha_ce * CE + alpha_cos * (1 - cos) of the last hidden state.
import { OptionsError } from '../../errors';
import { DISTILL_DEFAULTS } from '../distill-options';
import type { LayerMap } from '../layer-map';
import { findSignals } from '../signals';
import { distilbertStudent } from '../students';
import { logitTerms, teacherInput, type RecipeContext, type RecipePlan } from './recipe';
import type { LossSpec } from '../../training/autodiff/losses';

export function distilbertRecipe({ o, teacher, state, withLabels }: RecipeContext): RecipePlan {
  const N = teacher.layers;
  const student = distilbertStudent(state, teacher.file, { layers: o.layers, teacherLayers: o.teacherLayers });
  const d = DISTILL_DEFAULTS.distilbert;
  const terms: Array<{ weight: number; loss: LossSpec }> = logitTerms(o, d, withLabels);
  const needs = ['logits'];
  const cos = o.logitsOnly ? 0 : (o.alphaCos ?? d.alphaCos);
  let map: LayerMap = student.layerMap;
  if (cos > 0) {
    const s = findSignals(student.spec);
    const key = `hidden_${N}`;
    needs.push(key);
    terms.push({ weight: cos, loss: { kind: 'cosine', output: s.hidden[s.hidden.length - 1]!, target: teacherInput(key), mask: 'attention_mask', name: 'cos' } });
    const last = map.studentLayers;
    const links = map.links.map((l) => (l.student === last && l.teacher === N ? { ...l, role: 'both' as const } : l));
    if (!links.some((l) => l.student === last && l.teacher === N)) links.push({ student: last, teacher: N, role: 'supervise' });
    map = { ...map, links };
  }
  if (terms.length === 0) throw new OptionsError('alphaKd', 'leaves no loss term: with no labels in the data the KL term is all there is');
  return { student, layerMap: map, notes: [], stages: [{ name: 'distillation', forward: student.spec, loss: { kind: 'sum', terms }, needs }] };
}
