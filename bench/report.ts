// npm run bench:report — all four classic ways of lightening BERT and int8 quantization, on real
// data, in one measured table and the HTML report: bench:distill's teacher and its DistilBERT- and
// TinyBERT-style students (reused from an earlier bench:distill in the same --out), plus ALBERT-
// and MobileBERT-style students and the int8 variant of every model, each job in its own worker,
// latency at batch 1, seq 128, all cores. Prints the table, the targets, and the report's paths.
//
//   npm run bench:report [-- --data DIR | --train F --dev F] [--tokenizer T] [--out DIR] [--teacher-steps N] [--student-steps N] [--students a,b] [--train-threads N] [--latency-rounds N (30)] [--quick]
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildReport } from '../src/core/report/build-report';
import { reportHtml } from '../src/core/report/render-html';
import { reportMarkdown } from '../src/core/report/render-text';
import { chosenStudents, sst2Inputs, int8, latencies, pipeline, student, studentPlans, teacher, teacherPlan } from './pipeline';

const { train: TRAIN, dev: DEV, tokenizer: TOKENIZER, out: OUT, teacherSteps: TEACHER_STEPS, studentSteps: STUDENT_STEPS } = sst2Inputs('bench-sst2');

async function main(): Promise<void> {
  const p = pipeline(OUT, { train: TRAIN, dev: DEV, tokenizer: TOKENIZER }, 64);
  const plan = teacherPlan(TEACHER_STEPS);
  const t = await teacher(p, plan.config, plan.training);
  const plans = studentPlans(t.file, STUDENT_STEPS);
  const models = [t.file];
  const names = chosenStudents(['distilbert', 'tinybert', 'albert', 'mobilebert']);
  for (const name of names) models.push((await student(p, name, plans[name].options)).file);
  if (names.length < 4) {
    console.log(`distilled ${names.join(', ')}; run without --students for the int8 variants, the latencies and the report`);
    return;
  }
  for (const m of [...models]) models.push((await int8(p, m)).file);
  await latencies(p, models);

  const report = await buildReport([p.runs], { batch: 1, seq: 128, threads: p.threads });
  const md = path.join(OUT, 'report.md');
  const html = path.join(OUT, 'report.html');
  writeFileSync(md, reportMarkdown(report));
  writeFileSync(html, reportHtml(report, 'Compression report: SST-2'));
  const row = (name: string) => report.rows.find((r) => r.name === name);
  const students = report.rows.filter((r) => r.role === 'student');
  const albert = row('albert-style');
  const mobile = row('mobilebert-style');
  const pairs = report.rows.filter((r) => r.role === 'quantized').map((q) => ({ q, f: report.rows.find((r) => r.path === q.path.replace(/\.int8\.onnx$/i, '.onnx'))! }));
  const ok = (b: boolean) => (b ? 'met' : 'NOT met');
  const lines = [
    reportMarkdown(report).split('\n\n')[0],
    '',
    `targets: every student >= 95% of the teacher's dev accuracy (${students.map((s) => `${s.name} ${s.accuracyPct?.toFixed(1)}%`).join(', ')}: ${ok(students.every((s) => (s.accuracyPct ?? 0) >= 95))}); ` +
      `ALBERT-style <= 40% of the teacher's non-embedding parameters (${albert?.nonEmbeddingPct?.toFixed(1)}%: ${ok((albert?.nonEmbeddingPct ?? 100) <= 40)}); ` +
      `MobileBERT-style >= 3x faster (${mobile?.speedup?.toFixed(2)}x: ${ok((mobile?.speedup ?? 0) >= 3)}); ` +
      `int8 >= 99% of its float source's accuracy at >= 1.5x and <= 30% of its size (${pairs.map(({ q, f }) => `${q.name} ${((100 * (q.accuracy ?? 0)) / (f.accuracy ?? 1)).toFixed(1)}% at ${((f.p50 ?? 0) / (q.p50 ?? 1)).toFixed(2)}x, ${((100 * (q.bytes ?? 0)) / (f.bytes ?? 1)).toFixed(1)}% size`).join('; ')}: ` +
      `${ok(pairs.every(({ q, f }) => (q.accuracy ?? 0) / (f.accuracy ?? 1) >= 0.99 && (f.p50 ?? 0) / (q.p50 ?? 1) >= 1.5 && (q.bytes ?? Infinity) / (f.bytes ?? 1) <= 0.3))})`,
    `report: ${path.relative(process.cwd(), md)}, ${path.relative(process.cwd(), html)}`,
    `command: npm run bench:report${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  ];
  console.log(lines.join('\n'));
  writeFileSync(path.join(OUT, 'bench-report.txt'), lines.join('\n') + '\n');
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
