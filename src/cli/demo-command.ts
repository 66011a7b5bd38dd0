// `compression-lab demo` (npm run demo): the whole pipeline with no input and no network. A
// built-in review task where word order matters (generated, with a tokenizer made for it), a BERT
// teacher trained on it, the four classic students distilled from it, their int8 variants, latency
// measured on this machine, and the compression report (Markdown and HTML). Every step is a job in
// its own worker process, exactly as the CLI's and the editor's. With --data/--eval/--tokenizer
// (and optionally --teacher) the same pipeline runs on the user's files.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { buildEncoderClassifier, type EncoderConfig } from '../core/onnx/bert-builder';
import { writeModel } from '../core/onnx/onnx-writer';
import { generateReviews, reviewsTsv, taskTokenizerJson, taskVocabulary } from '../core/demo/review-task';
import type { DistillOptions } from '../core/distill/distill-options';
import { benchmarkRecord, saveRunIn, type AnyRunRecord } from '../core/runs/run-record';
import { buildReport } from '../core/report/build-report';
import { reportHtml } from '../core/report/render-html';
import { reportMarkdown } from '../core/report/render-text';
import { formatDuration } from '../core/format';
import { measureInterleaved } from '../host/interleaved-latency';
import { startDistillJob, startTrainJob } from '../host/train-job';
import { startQuantizeJob } from '../host/quantize-job';
import { workerScript } from '../host/worker-path';
import { loadTokenizer } from '../core/text/tokenizer';
import { UsageError } from './args';
import { JobFailedError } from './train-command';

export interface DemoOptions {
  out?: string;
  data?: string;
  eval?: string;
  tokenizer?: string;
  teacher?: string;
  /** Fewer steps everywhere: a smoke run of the pipeline. */
  quick?: boolean;
}

const SEQ = 128;

export async function runDemo(args: DemoOptions, write: (s: string) => void): Promise<void> {
  const started = Date.now();
  const out = path.resolve(args.out ?? 'demo-output');
  const own = !args.data;
  if (!own && (!args.eval || !args.tokenizer)) throw new UsageError('with --data, give --eval and --tokenizer too');
  mkdirSync(out, { recursive: true });
  const runs = path.join(out, 'runs');
  const worker = workerScript();
  const threads = availableParallelism();
  let stage = 0;
  const stageLine = (what: string) => write(`[${++stage}] ${what} (${formatDuration((Date.now() - started) / 1000)} in)`);

  // 1. The task: generated, or the user's.
  let data = args.data && path.resolve(args.data);
  let evalData = args.eval && path.resolve(args.eval);
  let tokenizer = args.tokenizer && path.resolve(args.tokenizer);
  if (own) {
    stageLine('Generating the review task (sentiment that depends on word order) and its tokenizer');
    const task = path.join(out, 'task');
    mkdirSync(task, { recursive: true });
    data = path.join(task, 'train.tsv');
    evalData = path.join(task, 'dev.tsv');
    tokenizer = path.join(task, 'tokenizer.json');
    writeFileSync(data, reviewsTsv(generateReviews(args.quick ? 1200 : 6000, 1)));
    writeFileSync(evalData, reviewsTsv(generateReviews(600, 2)));
    writeFileSync(tokenizer, JSON.stringify(taskTokenizerJson(), null, 1) + '\n');
    write(`    ${data} (6,000 reviews), ${evalData} (600), ${tokenizer} (${taskVocabulary().length} tokens)`);
  }
  const vocab = loadTokenizer(tokenizer!).vocabSize;
  const common = { data: data!, eval: evalData, tokenizer, maxLength: 64, batchSize: 32, threads, cacheDir: path.join(out, 'teacher-cache') };
  const steps = (n: number) => (args.quick ? Math.max(5, Math.round(n / 20)) : n);
  const need = (r: AnyRunRecord, what: string) => {
    if (r.status !== 'complete') throw new JobFailedError(`${what}: ${r.error ?? r.status}`);
    saveRunIn(runs, r);
  };

  // 2. The teacher: the user's, or a BERT trained here.
  let teacher = args.teacher ? path.resolve(args.teacher) : path.join(out, 'teacher', 'model.onnx');
  if (!args.teacher) {
    stageLine('Training the BERT teacher (4 layers, width 256)');
    const config: EncoderConfig = { family: 'bert', vocabSize: vocab, hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024, maxPositions: SEQ, numLabels: 2, seed: 1 };
    const init = path.join(out, 'teacher-init.onnx');
    writeModel(init, buildEncoderClassifier(config));
    const r = await startTrainJob(worker, { ...common, model: init, out: teacher, lr: 3e-4, maxSteps: steps(600), warmupRatio: 0.1, optimizer: 'adamw' }).done;
    need(r, 'training the teacher');
    teacher = r.result.out ?? teacher;
    write(`    dev accuracy ${(100 * (r.result.evals[r.result.evals.length - 1]?.accuracy ?? 0)).toFixed(2)}% after ${r.result.steps} steps`);
  }
  if (!existsSync(teacher)) throw new UsageError(`${teacher}: no such teacher`);

  // 3. The four students.
  const students: Array<{ label: string; options: DistillOptions }> = [
    { label: 'DistilBERT-style (2 of 4 layers)', options: { ...common, recipe: 'distilbert', teacher, out: path.join(out, 'distilbert', 'model.onnx'), layers: 2, lr: 2e-4, maxSteps: steps(500) } },
    { label: 'TinyBERT-style (2 layers, width 128)', options: { ...common, recipe: 'tinybert', teacher, out: path.join(out, 'tinybert', 'model.onnx'), layers: 2, hidden: 128, heads: 4, intermediate: 512, stage1Steps: steps(300), stage1Lr: 1e-3, lr: 5e-4, maxSteps: steps(400) } },
    { label: 'ALBERT-style (one shared layer, E = 128)', options: { ...common, recipe: 'albert', teacher, out: path.join(out, 'albert', 'model.onnx'), embedding: 128, lr: 2e-4, maxSteps: steps(500) } },
    { label: 'MobileBERT-style (bottleneck 64, 2 FFNs)', options: { ...common, recipe: 'mobilebert', teacher, out: path.join(out, 'mobilebert', 'model.onnx'), layers: 4, bottleneck: 64, ffns: 2, intermediate: 256, stage1Steps: steps(300), stage1Lr: 1e-3, lr: 5e-4, maxSteps: steps(400) } },
  ];
  const models = [teacher];
  for (const s of students) {
    stageLine(`Distilling the ${s.label} student`);
    const r = await startDistillJob(worker, s.options).done;
    need(r, `distilling ${s.label}`);
    models.push(s.options.out);
    const acc = r.result.evals[r.result.evals.length - 1]?.accuracy;
    write(`    ${r.result.student?.params.toLocaleString('en-US')} parameters, dev accuracy ${acc !== undefined ? `${(100 * acc).toFixed(2)}%` : '?'}, agreement with the teacher ${(100 * (r.result.evals[r.result.evals.length - 1]?.agreement ?? 0)).toFixed(1)}%, ${formatDuration(r.result.durationSec ?? 0)}`);
  }

  // 4. The int8 variant of every model, compared with its float self on the dev rows.
  stageLine('Quantizing every model to int8 (dynamic, MatMul weights and embeddings)');
  for (const model of [...models]) {
    const q = model.replace(/\.onnx$/i, '.int8.onnx');
    const r = await startQuantizeJob(worker, { model, out: q, eval: evalData, tokenizer, maxLength: common.maxLength, threads }).done;
    need(r, `quantizing ${model}`);
    models.push(q);
    const ev = r.result.evaluation;
    write(`    ${path.relative(out, q)}: ${((100 * (r.result.files?.after ?? 0)) / (r.result.files?.before ?? 1)).toFixed(0)}% of the size${ev ? `, argmax agrees with the float model on ${(100 * ev.agreement).toFixed(1)}% of the dev rows` : ''}`);
  }

  // 5. Latency of every model on this machine, each in its own worker.
  stageLine(`Measuring latency (batch 1, sequence ${SEQ}, ${threads} threads, each model in its own worker, interleaved rounds)`);
  const measured = await measureInterleaved(worker, models, { threads, rounds: args.quick ? 1 : 3, runs: args.quick ? 10 : 20, warmup: 5, seq: SEQ });
  for (const run of measured.runs.values()) saveRunIn(runs, benchmarkRecord(run));

  // 6. The report, rebuilt from the runs just saved.
  stageLine('Writing the compression report');
  const report = await buildReport([runs], { batch: 1, seq: SEQ });
  const md = path.join(out, 'report.md');
  const html = path.join(out, 'report.html');
  writeFileSync(md, reportMarkdown(report));
  writeFileSync(html, reportHtml(report, 'Compression report: the demo\'s teacher and its students'));
  write('');
  write(reportMarkdown(report).split('\n\n')[0]);
  write('');
  write(`report: ${md}`);
  write(`        ${html} (open it in a browser; it is one self-contained file)`);
  write(`runs:   ${runs} (npx compression-lab report ${path.relative(process.cwd(), runs)} rebuilds the report without retraining)`);
  write(`done in ${formatDuration((Date.now() - started) / 1000)}`);
}
