// npm run bench:distill — the product's promise measured end to end on real data: a BERT teacher
// trained here from the builder (no pretrained weights exist offline), a DistilBERT-style and a
// TinyBERT-style student distilled from it, all three benchmarked at batch 1, seq 128, all cores.
// Every job runs as the CLI and the editor run it (a worker per job, through the host's runner).
// Prints params, % of the teacher, p50, speed-up, dev accuracy, % of the teacher's accuracy and
// training time, against the targets.
//
//   npm run bench:distill [-- --data DIR (train.tsv, dev.tsv) | --train F --dev F] [--tokenizer tokenizer.json]
//                           [--out DIR] [--teacher-steps N] [--student-steps N] [--train-threads N] [--latency-rounds N (30)] [--quick]
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { analyzeModel } from '../src/core/analysis/model-card';
import { openModel } from '../src/core/open-model';
import { formatCount, formatMs } from '../src/core/format';
import { table } from '../src/cli/format';
import { LATENCY_RUNS, sst2Inputs, finalAccuracy, latencies, pipeline, student, studentPlans, teacher, teacherPlan } from './pipeline';

const { train: TRAIN, dev: DEV, tokenizer: TOKENIZER, out: OUT, teacherSteps: TEACHER_STEPS, studentSteps: STUDENT_STEPS } = sst2Inputs('bench-sst2');
const MAX_LENGTH = 64;

async function main(): Promise<void> {
  const p = pipeline(OUT, { train: TRAIN, dev: DEV, tokenizer: TOKENIZER }, MAX_LENGTH);
  const plan = teacherPlan(TEACHER_STEPS);
  const t = await teacher(p, plan.config, plan.training);
  const plans = studentPlans(t.file, STUDENT_STEPS);
  const rows: Array<{ label: string; file: string; acc: number; sec: number; reused: boolean }> = [
    { label: 'teacher (BERT, 4 layers, width 256)', file: t.file, acc: finalAccuracy(t.record), sec: t.record.result.durationSec ?? NaN, reused: t.reused },
  ];
  for (const name of ['distilbert', 'tinybert'] as const) {
    const s = await student(p, name, plans[name].options);
    rows.push({ label: plans[name].label, file: s.file, acc: finalAccuracy(s.record), sec: s.record.result.durationSec ?? NaN, reused: s.reused });
  }
  const params = await Promise.all(rows.map(async (r) => analyzeModel(await openModel(r.file)).params.total));
  const measured = await latencies(p, rows.map((r) => r.file));
  const p50 = rows.map((r) => measured.get(r.file)!);

  const cells = rows.map((r, i) => [
    r.label, formatCount(params[i]), `${((100 * params[i]) / params[0]).toFixed(1)}%`, formatMs(p50[i]), `${(p50[0] / p50[i]).toFixed(2)}x`,
    `${(100 * r.acc).toFixed(2)}%`, `${((100 * r.acc) / rows[0].acc).toFixed(1)}%`, `${(r.sec / 60).toFixed(1)} min${r.reused ? ' (earlier run)' : ''}`,
  ]);
  const kept = (i: number) => rows[i].acc / rows[0].acc;
  const speed = (i: number) => p50[0] / p50[i];
  const report = [
    `bench:distill on ${path.relative(process.cwd(), TRAIN)} (dev ${path.relative(process.cwd(), DEV)}), max length ${MAX_LENGTH}, teacher ${TEACHER_STEPS} AdamW steps, students ${STUDENT_STEPS} steps (TinyBERT: ${STUDENT_STEPS} + ${STUDENT_STEPS}); latency batch 1, seq 128, ${p.threads} threads, each model in its own worker, ${p.latencyRounds} interleaved rounds of ${LATENCY_RUNS} runs`,
    '',
    table(['model', 'params', '% teacher', 'p50 ms', 'speed-up', 'dev acc', '% teacher acc', 'training'], cells, [false, true, true, true, true, true, true, true]),
    '',
    `targets: teacher >= 82% (${(100 * rows[0].acc).toFixed(2)}%: ${rows[0].acc >= 0.82 ? 'met' : 'NOT met'}); ` +
      `DistilBERT-style >= 97% of the teacher at >= 1.8x (${(100 * kept(1)).toFixed(1)}% at ${speed(1).toFixed(2)}x: ${kept(1) >= 0.97 && speed(1) >= 1.8 ? 'met' : 'NOT met'}); ` +
      `TinyBERT-style >= 95% at >= 4x (${(100 * kept(2)).toFixed(1)}% at ${speed(2).toFixed(2)}x: ${kept(2) >= 0.95 && speed(2) >= 4 ? 'met' : 'NOT met'})`,
    `command: npm run bench:distill${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}; run records in ${path.relative(process.cwd(), p.runs)}`,
  ].join('\n');
  console.log(report);
  writeFileSync(path.join(OUT, 'bench-distill.txt'), report + '\n');
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
