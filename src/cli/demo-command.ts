import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildEncoderClassifier, toHfConfig, type EncoderConfig } from '../core/onnx/bert-builder';
import { writeModel } from '../core/onnx/onnx-writer';
import { openModel } from '../core/open-model';
import { analyzeModel } from '../core/analysis/model-card';
import { formatBytes, formatCount, formatMacs } from '../core/format';
import { table } from './format';
import { parseCompare, runCompare } from './compare-command';

/** The demo's teacher and the four classic ways of making it lighter, at a size that builds in seconds. */
export const DEMO_MODELS: Array<{ label: string; config: EncoderConfig }> = [
  { label: 'teacher (BERT)', config: { family: 'bert', vocabSize: 30522, hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024, maxPositions: 512, numLabels: 2 } },
  { label: 'DistilBERT (half the layers)', config: { family: 'distilbert', vocabSize: 30522, hiddenSize: 256, numLayers: 2, numHeads: 4, intermediateSize: 1024, maxPositions: 512, numLabels: 2 } },
  { label: 'TinyBERT-style (narrow, shallow)', config: { family: 'bert', vocabSize: 30522, hiddenSize: 128, numLayers: 2, numHeads: 2, intermediateSize: 512, maxPositions: 512, numLabels: 2 } },
  { label: 'ALBERT (shared layer, E=128)', config: { family: 'albert', vocabSize: 30522, hiddenSize: 256, embeddingSize: 128, numLayers: 4, numHeads: 4, intermediateSize: 1024, maxPositions: 512, numLabels: 2 } },
  { label: 'MobileBERT (bottleneck 64)', config: { family: 'mobilebert', vocabSize: 30522, hiddenSize: 256, embeddingSize: 128, bottleneckSize: 64, numFeedforwardNetworks: 2, numLayers: 4, numHeads: 4, intermediateSize: 256, maxPositions: 512, numLabels: 2 } },
];

export async function runDemo(args: { out?: string }, write: (s: string) => void): Promise<void> {
  const out = path.resolve(args.out ?? 'demo-output');
  write(`Building a teacher and four students into ${out} ...`);
  const rows: string[][] = [];
  const dirs: string[] = [];
  let teacher: { params: number; bytes: number; macs: number } | undefined;
  for (const { label, config } of DEMO_MODELS) {
    const dir = path.join(out, label.split(' ')[0].toLowerCase().replace(/[^a-z0-9-]/g, ''));
    mkdirSync(dir, { recursive: true });
    dirs.push(dir);
    writeModel(path.join(dir, 'model.onnx'), buildEncoderClassifier(config));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(toHfConfig(config), null, 2) + '\n');
    const card = analyzeModel(await openModel(path.join(dir, 'model.onnx')), { seq: 128 });
    const me = { params: card.params.total, bytes: card.bytes.onDisk, macs: card.flops.total };
    teacher ??= me;
    const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
    rows.push([
      label, card.family, formatCount(me.params), pct(me.params, teacher.params), formatBytes(me.bytes),
      formatMacs(me.macs), pct(me.macs, teacher.macs), `${card.layers.length}${card.uniqueLayers !== card.layers.length ? ` (${card.uniqueLayers} unique)` : ''}`,
    ]);
  }
  write('');
  write(table(['model', 'family', 'params', '% teacher', 'size', 'MACs@128', '% teacher', 'layers'], rows, [false, false, true, true, true, true, true, false]));
  write('');
  write('Measuring latency on this machine (each model in its own worker process; batch 1, seq 128, all cores) ...');
  write('');
  const code = await runCompare(parseCompare([...dirs, '--batch', '1', '--seq', '128', '--warmup', '3', '--runs', '20', '--runs-dir', path.join(out, 'runs')]), write);
  write('');
  write(`Inspect any of them: npx compression-lab inspect ${path.relative(process.cwd(), path.join(out, 'albert'))} --json`);
  write(`Compare at other settings: npx compression-lab compare ${dirs.map((d) => path.relative(process.cwd(), d)).join(' ')} --seq 64 --threads 1`);
  if (code !== 0) throw new Error('the latency comparison did not complete');
}
