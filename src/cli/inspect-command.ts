import { analyzeModel, type ModelCard } from '../core/analysis/model-card';
import { COMPONENTS } from '../core/analysis/rows';
import { openModel } from '../core/open-model';
import type { ModelFormat } from '../core/model';
import { formatBytes, formatCount, formatMacs } from '../core/format';
import { table } from './format';

export interface InspectArgs {
  path: string;
  seq: number;
  json: boolean;
  tensors: boolean;
  format?: ModelFormat;
}

/** The machine-readable card: a stable subset of ModelCard (the tensor table only on request). */
export function cardJson(card: ModelCard, withTensors: boolean): Record<string, unknown> {
  const { tensors, ...rest } = card;
  return {
    ...rest,
    params: card.params,
    layers: card.layers,
    dtypes: card.dtypes,
    bytes: card.bytes,
    flops: card.flops,
    ...(withTensors ? { tensors } : { tensorCount: tensors.length }),
  };
}

export function renderCard(card: ModelCard): string {
  const out: string[] = [];
  out.push(`${card.weightsPath}`);
  out.push(`format ${card.format}   family ${card.family}   ${Object.entries(card.metadata).filter(([k]) => ['producer', 'opset', 'irVersion', 'torch_version', 'version'].includes(k)).map(([k, v]) => `${k} ${v}`).join('   ')}`);
  out.push('');
  out.push(`parameters  ${formatCount(card.params.total)} unique${card.params.executed !== card.params.total ? `, ${formatCount(card.params.executed)} as executed` : ''}${card.params.shared ? ` (${formatCount(card.params.shared)} shared)` : ''}`);
  out.push(`weights     ${formatBytes(card.bytes.weights)}   on disk ${formatBytes(card.bytes.onDisk)}${card.bytes.files.length > 1 ? ` in ${card.bytes.files.length} files` : ''}`);
  out.push(`FLOPs       ${formatMacs(card.flops.total)} multiply-adds per sequence of ${card.flops.seq} tokens`);
  out.push('');
  out.push('evidence:');
  for (const e of card.familyEvidence) out.push(`  - ${e}`);
  out.push('');
  out.push(table(['component', 'params', '%'], COMPONENTS.filter((c) => card.params.byComponent[c] > 0).map((c) => [
    c, formatCount(card.params.byComponent[c]), ((100 * card.params.byComponent[c]) / Math.max(1, card.params.total)).toFixed(1),
  ]), [false, true, true]));
  if (card.layers.length) {
    out.push('');
    out.push(table(['layer', 'params', 'weights', 'MACs', 'shared with'], card.layers.map((l) => [
      String(l.index), formatCount(l.params), l.weights, formatMacs(card.flops.perLayer[l.index] ?? 0), l.sharedWith ? l.sharedWith.join(',') : '',
    ]), [true, true, false, true, false]));
  }
  out.push('');
  out.push(table(['dtype', 'tensors', 'elements', 'bytes'], card.dtypes.map((d) => [d.dtype, String(d.tensors), formatCount(d.elements), formatBytes(d.bytes)]), [false, true, true, true]));
  const disagreements = card.configCheck.filter((c) => !c.agree);
  if (card.configPath) {
    out.push('');
    out.push(disagreements.length ? `config.json disagrees with the weights: ${disagreements.map((d) => `${d.field} ${d.config} vs ${d.weights}`).join('; ')}` : `config.json agrees with the weights (${card.configCheck.length} fields checked)`);
  }
  for (const w of card.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}

export async function runInspect(args: InspectArgs, write: (s: string) => void): Promise<void> {
  const model = await openModel(args.path, { format: args.format });
  const card = analyzeModel(model, { seq: args.seq });
  write(args.json ? JSON.stringify(cardJson(card, args.tensors), null, 2) : renderCard(card));
}
