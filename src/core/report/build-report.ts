// The compression report: one row per model (the teacher, each student, each int8 variant) with
// how it was lightened and what that bought, every figure read from saved runs and the model
// files themselves, so it rebuilds without retraining. A figure that is missing says so; one
// measured on a model file that has changed since (its sha256 differs) is marked stale.
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { analyzeModel } from '../analysis/model-card';
import type { Component } from '../analysis/tensor-roles';
import { hashFiles } from '../benchmark/environment';
import type { LayerMap } from '../distill/layer-map';
import { UserError } from '../errors';
import { openModel } from '../open-model';
import { loadRunRecord, type AnyRunRecord, type RunRecord } from '../runs/run-record';

export type Technique = 'baseline' | 'distillation' | 'layer-wise distillation' | 'sharing and factorisation' | 'bottleneck redesign' | 'quantization' | 'fine-tuning';

export interface ReportRow {
  name: string;
  role: 'teacher' | 'student' | 'quantized';
  technique: Technique;
  /** How it lightens the model, in a sentence. */
  how: string;
  path: string;
  exists: boolean;
  params?: number;
  paramsPct?: number;
  /** Parameters outside the embeddings: what sharing and bottlenecks cut. */
  nonEmbeddingParams?: number;
  nonEmbeddingPct?: number;
  bytes?: number;
  sizePct?: number;
  flops?: number;
  p50?: number;
  speedup?: number;
  accuracy?: number;
  accuracyPct?: number;
  trainingSec?: number;
  components?: Record<Component, number>;
  layers?: number;
  uniqueLayers?: number;
  layerMap?: LayerMap;
  /** Where its figures came from. */
  runFiles: string[];
  /** What is missing or stale, in words. */
  notes: string[];
  pareto?: boolean;
  /** The file's sha256 when the run that evaluated it wrote it. */
  recordedSha256?: string;
}

export interface CompressionReport {
  created: string;
  /** The latency configuration the rows compare. */
  config: { batch: number; seq: number; threads?: number };
  rows: ReportRow[];
  warnings: string[];
}

const RECIPE_TECHNIQUE: Record<string, { technique: Technique; how: string }> = {
  distilbert: { technique: 'distillation', how: 'half the layers, kept from the teacher and trained on its soft targets' },
  tinybert: { technique: 'layer-wise distillation', how: 'fewer and narrower layers, trained layer by layer on the teacher\'s hidden states and attention' },
  albert: { technique: 'sharing and factorisation', how: 'one set of layer weights used at every depth, embeddings factorised V x E x H' },
  mobilebert: { technique: 'bottleneck redesign', how: 'narrow bottleneck blocks with stacked feed-forward networks, trained by feature-map and attention transfer' },
};

/** Run files from the arguments: files, and every .json in a folder given (a runs folder). */
function runFiles(inputs: readonly string[]): { runs: string[]; models: string[] } {
  const runs: string[] = [];
  const models: string[] = [];
  for (const input of inputs) {
    const abs = path.resolve(input);
    if (!existsSync(abs)) throw new UserError('report-input', 'no such file or folder', abs);
    if (abs.toLowerCase().endsWith('.json')) runs.push(abs);
    else if (statSync(abs).isDirectory() && !existsSync(path.join(abs, 'config.json')) && readdirSync(abs).some((f) => f.endsWith('.json'))) {
      for (const f of readdirSync(abs).sort()) if (f.endsWith('.json')) runs.push(path.join(abs, f));
    } else models.push(abs);
  }
  return { runs, models };
}

const key = (p: string) => path.resolve(p);

/** Reads the runs and models named and assembles the report (latency at `config`). */
export async function buildReport(inputs: readonly string[], config: { batch: number; seq: number; threads?: number } = { batch: 1, seq: 128 }): Promise<CompressionReport> {
  const { runs: files, models } = runFiles(inputs);
  const warnings: string[] = [];
  const records: Array<{ file: string; record: AnyRunRecord }> = [];
  for (const file of files) {
    try {
      records.push({ file, record: loadRunRecord(file) });
    } catch (e) {
      warnings.push((e as Error).message);
    }
  }
  const byKind = <K extends AnyRunRecord['kind']>(kind: K) => records.filter((r) => r.record.kind === kind) as Array<{ file: string; record: RunRecord<K> }>;

  // Which models the report is about, and what each is: teachers of distillations, their students, int8 variants.
  const rows = new Map<string, ReportRow>();
  // What the runs say of each model's accuracy and training; which is believed waits for the file's sha256.
  const evidence = new Map<ReportRow, Evidence[]>();
  const evidenceOf = (r: ReportRow): Evidence[] => {
    let e = evidence.get(r);
    if (!e) evidence.set(r, (e = []));
    return e;
  };
  const row = (p: string, init: Omit<ReportRow, 'path' | 'exists' | 'runFiles' | 'notes'>): ReportRow => {
    const k = key(p);
    let r = rows.get(k);
    if (!r) { r = { ...init, path: k, exists: existsSync(k), runFiles: [], notes: [] }; rows.set(k, r); }
    return r;
  };
  for (const { file, record } of byKind('distill')) {
    if (record.status !== 'complete') continue;
    const teacher = row(record.model.path, { name: 'teacher', role: 'teacher', technique: 'baseline', how: 'the model being compressed' });
    if (record.result.teacher?.accuracy !== undefined) evidenceOf(teacher).push({ accuracy: record.result.teacher.accuracy, sha256: record.model.sha256, created: record.created });
    const t = RECIPE_TECHNIQUE[record.settings.recipe] ?? { technique: 'distillation' as Technique, how: record.settings.recipe };
    const out = record.result.out ?? record.settings.out;
    const s = row(out, { name: `${record.settings.recipe}-style`, role: 'student', ...t });
    evidenceOf(s).push({
      accuracy: record.result.evals[record.result.evals.length - 1]?.accuracy, sha256: record.result.outSha256, created: record.created,
      file, trainingSec: record.result.durationSec, layerMap: record.result.layerMap, notes: (record.result.warnings ?? []).filter((w) => /SVD/.test(w)),
    });
  }
  for (const { file, record } of byKind('train')) {
    if (record.status !== 'complete') continue;
    const out = record.result.out ?? record.settings.out;
    const r = rows.get(key(out));
    if (r?.role === 'teacher' || !r) {
      const t = r ?? row(out, { name: path.basename(path.dirname(out)) || 'model', role: 'teacher', technique: 'baseline', how: 'the model being compressed' });
      evidenceOf(t).push({ accuracy: record.result.evals[record.result.evals.length - 1]?.accuracy, sha256: record.result.outSha256, created: record.created, file, trainingSec: record.result.durationSec });
    }
  }
  for (const { file, record } of byKind('quantize')) {
    if (record.status !== 'complete') continue;
    const source = rows.get(key(record.settings.model));
    const out = record.result.out ?? record.settings.out;
    const q = row(out, { name: `${source?.name ?? path.basename(record.settings.model)} int8`, role: 'quantized', technique: 'quantization', how: 'MatMul weights as int8, activations quantized at run time (onnxruntime fuses them)' });
    q.runFiles.push(file);
    const ev = record.result.evaluation;
    if (ev) {
      q.accuracy = ev.accuracy.after;
      q.notes.push(`argmax agrees with its float model on ${(100 * ev.agreement).toFixed(2)}% of ${ev.examples} rows`);
      // The float model measured on the same rows, when nothing else said how accurate it is.
      if (source && source.accuracy === undefined) source.accuracy = ev.accuracy.before;
    }
    q.recordedSha256 = record.result.outSha256;
  }
  for (const m of models) {
    if (!rows.has(key(m))) row(m, { name: path.basename(m.toLowerCase().endsWith('model.onnx') ? path.dirname(m) : m), role: rows.size === 0 ? 'teacher' : 'student', technique: rows.size === 0 ? 'baseline' : 'distillation', how: rows.size === 0 ? 'the model being compressed' : 'given by hand' });
  }

  // Model facts from the files; latency from benchmark runs of the very same bytes.
  const benchmarks = byKind('benchmark');
  for (const r of rows.values()) {
    if (!r.exists) { believe(r, evidence.get(r) ?? [], undefined); r.notes.push('the model file is gone'); continue; }
    let believed = false;
    try {
      const model = await openModel(r.path);
      const card = analyzeModel(model, { seq: config.seq });
      r.params = card.params.total;
      r.nonEmbeddingParams = card.params.total - card.params.byComponent.embeddings;
      r.bytes = card.bytes.onDisk;
      r.flops = card.flops.total;
      r.components = card.params.byComponent;
      r.layers = card.layers.length;
      r.uniqueLayers = card.uniqueLayers;
      const sha = await hashFiles([model.weightsPath]);
      believe(r, evidence.get(r) ?? [], sha);
      believed = true;
      const matches = benchmarks.filter((b) => key(b.record.model.path) === key(model.weightsPath) && b.record.status === 'complete');
      const results = matches.flatMap((b) => b.record.result.results.filter((c) => c.batch === config.batch && c.seq === config.seq && (config.threads === undefined || c.threads === config.threads)).map((c) => ({ b, c })));
      const fresh = results.filter(({ b }) => b.record.model.sha256 === sha);
      const pick = (fresh.length ? fresh : results).sort((x, y) => y.b.record.created.localeCompare(x.b.record.created))[0];
      if (pick) {
        r.p50 = pick.c.stats.p50;
        r.runFiles.push(pick.b.file);
        if (!fresh.length) r.notes.push(`latency stale: measured on other bytes of ${path.basename(r.path)} (${pick.b.record.created}); benchmark it again`);
      } else r.notes.push(`latency missing: no benchmark of this file at batch ${config.batch}, seq ${config.seq}`);
      // A model whose file changed after the run that evaluated it: its accuracy is of other weights.
      if (r.recordedSha256 && r.recordedSha256 !== sha) r.notes.push(`accuracy stale: ${path.basename(r.path)} changed after the run that evaluated it; evaluate it again`);
    } catch (e) {
      if (!believed) believe(r, evidence.get(r) ?? [], undefined);
      r.notes.push(`cannot read the model: ${(e as Error).message}`);
    }
    if (r.accuracy === undefined) r.notes.push('accuracy missing: no evaluation recorded');
  }

  const ordered = [...rows.values()].sort((a, b) => roleOrder(a) - roleOrder(b));
  const teacher = ordered.find((r) => r.role === 'teacher');
  if (!teacher) warnings.push('no teacher among the runs: percentages are not shown');
  for (const r of ordered) {
    if (!teacher) break;
    if (r.params !== undefined && teacher.params) r.paramsPct = (100 * r.params) / teacher.params;
    if (r.nonEmbeddingParams !== undefined && teacher.nonEmbeddingParams) r.nonEmbeddingPct = (100 * r.nonEmbeddingParams) / teacher.nonEmbeddingParams;
    if (r.bytes !== undefined && teacher.bytes) r.sizePct = (100 * r.bytes) / teacher.bytes;
    if (r.p50 !== undefined && teacher.p50) r.speedup = teacher.p50 / r.p50;
    if (r.accuracy !== undefined && teacher.accuracy) r.accuracyPct = (100 * r.accuracy) / teacher.accuracy;
  }
  markPareto(ordered);
  return { created: new Date().toISOString(), config, rows: ordered, warnings };
}

/** One run's word on a model: its accuracy, of the bytes with this sha256, and how it was made. */
interface Evidence {
  accuracy?: number;
  sha256?: string;
  created: string;
  file?: string;
  trainingSec?: number;
  layerMap?: ReportRow['layerMap'];
  notes?: string[];
}

/**
 * Takes each figure from the newest run about the file as it is now (a model retrained in place
 * leaves the older runs about other bytes), else from the newest run, whose figure is then marked
 * stale below by its sha256.
 */
function believe(r: ReportRow, all: Evidence[], sha: string | undefined): void {
  const newest = (list: Evidence[]) => [...list].sort((a, b) => b.created.localeCompare(a.created))[0];
  const pick = (want: (e: Evidence) => boolean) => {
    const some = all.filter(want);
    return newest(some.filter((e) => sha !== undefined && e.sha256 === sha)) ?? newest(some);
  };
  const acc = pick((e) => e.accuracy !== undefined);
  if (acc) { r.accuracy = acc.accuracy; r.recordedSha256 = acc.sha256; }
  const made = pick((e) => e.file !== undefined);
  if (made) {
    r.runFiles.push(made.file!);
    r.trainingSec = made.trainingSec;
    if (made.layerMap) r.layerMap = made.layerMap;
    r.notes.push(...(made.notes ?? []));
  }
}

function roleOrder(r: ReportRow): number {
  return r.role === 'teacher' ? 0 : r.role === 'student' ? 1 : 2;
}

/** The accuracy-latency frontier: no other model is at least as accurate and at least as fast, and better at one. */
export function markPareto(rows: ReportRow[]): void {
  const measured = rows.filter((r) => r.accuracy !== undefined && r.p50 !== undefined);
  for (const r of measured) {
    r.pareto = !measured.some((o) => o !== r && o.accuracy! >= r.accuracy! && o.p50! <= r.p50! && (o.accuracy! > r.accuracy! || o.p50! < r.p50!));
  }
}
