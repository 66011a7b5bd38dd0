// TinyBERT-style: a fresh, narrower and shallower student; stage 1 learns the teacher layer by
// layer (embeddings and hidden states through one shared W_h, attention scores), stage 2 its
// soft targets.
import type { LossSpec } from '../../training/autodiff/losses';
import { OptionsError } from '../../errors';
import { DISTILL_DEFAULTS } from '../distill-options';
import { tinyLayerMap } from '../layer-map';
import { withProjection } from '../projection';
import { findSignals } from '../signals';
import { tinybertStudent } from '../students';
import { firstStageSettings, teacherInput, type RecipeContext, type RecipePlan, type StagePlan } from './recipe';

export function tinybertRecipe({ o, teacher, state }: RecipeContext): RecipePlan {
  const student = tinybertStudent(state.config, { layers: o.layers, hidden: o.hidden, heads: o.heads, intermediate: o.intermediate, activation: o.activation, seed: o.seed });
  const map = tinyLayerMap(teacher.layers, student.config.numLayers);
  const stages: StagePlan[] = [];
  if (!o.logitsOnly) {
    if (student.config.numHeads !== teacher.heads) {
      throw new OptionsError('heads', `is ${student.config.numHeads}, the teacher has ${teacher.heads}: attention-score transfer compares head by head; give the teacher's head count, or distil from the logits alone (option 'logitsOnly')`);
    }
    const s = findSignals(student.spec);
    const values = [s.embeddings!, ...s.hidden.map((h) => h!)];
    const { spec, projected } = withProjection(student.spec, values, student.config.hiddenSize, teacher.hidden);
    const needs = ['hidden_0'];
    const hidden: LossSpec[] = [];
    const attn: LossSpec[] = [];
    for (let m = 1; m < map.length; m++) {
      needs.push(`hidden_${map[m]}`, `attn_${map[m]}`);
      hidden.push({ kind: 'mse', output: projected.get(s.hidden[m - 1]!)!, target: teacherInput(`hidden_${map[m]}`), mask: 'attention_mask', maskOver: 'tokens' });
      attn.push({ kind: 'mse', output: s.attentionScores[m - 1]!, target: teacherInput(`attn_${map[m]}`), mask: 'attention_mask', maskOver: 'token-pairs' });
    }
    stages.push({
      name: 'intermediate', forward: spec, needs, settings: firstStageSettings(o),
      loss: {
        kind: 'sum',
        terms: [
          { weight: 1, loss: { kind: 'mse', output: projected.get(s.embeddings!)!, target: teacherInput('hidden_0'), mask: 'attention_mask', maskOver: 'tokens', name: 'emb' } },
          { weight: 1, loss: { kind: 'group', name: 'hidden', terms: hidden } },
          { weight: 1, loss: { kind: 'group', name: 'attn', terms: attn } },
        ],
      },
    });
  }
  stages.push({
    name: 'prediction', forward: student.spec, needs: ['logits'],
    loss: { kind: 'sum', terms: [{ weight: 1, loss: { kind: 'soft-cross-entropy', logits: 'logits', teacherLogits: teacherInput('logits'), temperature: o.temperature ?? DISTILL_DEFAULTS.tinybert.temperature, name: 'pred' } }] },
  });
  return {
    student, stages, notes: [],
    layerMap: { teacherLayers: teacher.layers, studentLayers: student.config.numLayers, links: map.map((t, m) => ({ student: m, teacher: t, role: 'supervise' as const })) },
  };
}
