import * as path from 'node:path';
import * as vscode from 'vscode';
import { planConfigs, resolveModelFile } from '../../core/benchmark/plan';
import type { BenchmarkPlan, BenchmarkProgress, BenchmarkRun } from '../../core/benchmark/types';
import { startBenchmarkJob } from '../../host/benchmark-job';
import { askPlan, planFromSettings, timeoutMsFromSettings } from './benchmark-settings';
import { COMPARE_VIEW, ComparePanel } from './compare-panel';
import type { RunsStore } from './runs-store';

const ONNX_FILTER = { 'ONNX models': ['onnx'] };

export interface CompareOptions {
  /** Run files that evaluated the models (a distillation, a quantization): the accuracy columns. */
  accuracyRuns?: string[];
  title?: string;
}

/** The command's third argument, from other parts of the extension only; checked all the same. */
function compareOptions(x: unknown): CompareOptions {
  const runs = (x as { accuracyRuns?: unknown } | undefined)?.accuracyRuns;
  return Array.isArray(runs) && runs.every((f) => typeof f === 'string' && f.endsWith('.json')) ? { accuracyRuns: runs as string[] } : {};
}

/** `tiny/model.onnx` -> `tiny`, `tiny/tiny.int8.onnx` -> `tiny.int8`. */
function shortName(file: string): string {
  return path.basename(file).toLowerCase() === 'model.onnx' ? path.basename(path.dirname(file)) : path.basename(file).replace(/\.onnx$/i, '');
}

/** The model the command is about: the explorer's selection, the active model card, or a picked file. */
async function targetModels(arg: unknown, args: unknown, many: boolean): Promise<vscode.Uri[] | undefined> {
  if (Array.isArray(args) && args.length && args.every((a) => a instanceof vscode.Uri)) return args as vscode.Uri[];
  if (arg instanceof vscode.Uri) return [arg];
  if (!many) {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (input instanceof vscode.TabInputCustom && input.uri.path.toLowerCase().endsWith('.onnx')) return [input.uri];
  }
  return vscode.window.showOpenDialog({ canSelectMany: many, canSelectFiles: true, canSelectFolders: false, filters: ONNX_FILTER, title: many ? 'Compare Models' : 'Benchmark Model' });
}

function describeProgress(name: string, p: BenchmarkProgress): string {
  const c = p.config;
  const where = `${name}: batch ${c.batch}, seq ${c.seq}, ${c.threads} thread${c.threads === 1 ? '' : 's'} (${p.configIndex + 1}/${p.configCount})`;
  switch (p.phase) {
    case 'session': return `${where}: creating the session`;
    case 'first-run': return `${where}: first inference`;
    case 'warmup': return `${where}: warm-up ${p.run ?? ''}/${p.runs ?? ''}`;
    case 'measure': return `${where}: run ${p.run ?? ''}/${p.runs ?? ''}`;
    default: return `${where}: done`;
  }
}

export class BenchmarkCommands {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly store: RunsStore,
    private readonly log: vscode.OutputChannel,
    /** Training runs open in the run panel (src/extension/train). */
    private readonly openTrainingRun: (file: string) => void,
  ) {}

  private get workerPath(): string {
    return vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'worker.js').fsPath;
  }

  register(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand('compressionLab.benchmarkModel', (arg?: unknown, args?: unknown) => this.benchmark(arg, args)),
      vscode.commands.registerCommand('compressionLab.compareModels', (arg?: unknown, args?: unknown, opts?: unknown) => this.compare(arg, args, compareOptions(opts))),
      vscode.commands.registerCommand('compressionLab.openRun', (file?: unknown) => {
        if (typeof file !== 'string') return;
        const s = this.store.read(file);
        // A quantization has no curve to draw: its record opens as JSON, its model in the card.
        if (s.record?.kind === 'quantize') { void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file)); return; }
        if (s.record && s.record.kind !== 'benchmark') { this.openTrainingRun(file); return; }
        ComparePanel.create(this.context, this.store, `Run: ${s.run?.model.name ?? path.basename(file)}`, [file]);
      }),
      vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW, {
        deserializeWebviewPanel: async (panel, state) => { ComparePanel.revive(panel, this.context, this.store, state); },
      }),
    ];
  }

  private resolve(uri: vscode.Uri): string | undefined {
    try {
      return resolveModelFile(uri.fsPath);
    } catch (e) {
      void vscode.window.showErrorMessage((e as Error).message);
      return undefined;
    }
  }

  async benchmark(arg?: unknown, args?: unknown): Promise<void> {
    const uris = await targetModels(arg, args, false);
    const file = uris?.[0] && this.resolve(uris[0]);
    if (!file) return;
    if (!file.toLowerCase().endsWith('.onnx')) { void vscode.window.showErrorMessage(`${file}: benchmarks run ONNX models; export this one to .onnx first`); return; }
    const plan = await askPlan(file);
    if (!plan) return;
    const panel = ComparePanel.create(this.context, this.store, `Benchmark: ${path.basename(path.dirname(file))}/${path.basename(file)}`);
    await this.runAll([plan], panel);
  }

  async compare(arg?: unknown, args?: unknown, opts: CompareOptions = {}): Promise<void> {
    const uris = await targetModels(arg, args, true);
    if (!uris?.length) return;
    // A folder and the model.onnx inside it are one model.
    const files = [...new Set(uris.map((u) => this.resolve(u)).filter((f): f is string => !!f))];
    if (files.length < 2) { void vscode.window.showErrorMessage('Compare Models needs two or more ONNX models.'); return; }
    const plan = await askPlan(files.join(', '));
    if (!plan) return;
    await this.compareFiles(files, plan, opts);
  }

  /**
   * Benchmarks the models one after another with `plan` (the first is the baseline) and shows
   * them in a new comparison panel; without a plan, the benchmark settings are used as they are
   * (a job that just ended asks for it: no questions).
   */
  async compareFiles(files: readonly string[], plan: BenchmarkPlan = planFromSettings(files[0]), opts: CompareOptions = {}): Promise<void> {
    const panel = ComparePanel.create(this.context, this.store, opts.title ?? `Compare: ${files.map(shortName).join(' vs ')}`, [], opts.accuracyRuns);
    await this.runAll(files.map((model) => ({ ...plan, model })), panel);
  }

  /** Runs the plans one after another in fresh worker processes, saving each run as it ends. */
  private async runAll(plans: BenchmarkPlan[], panel: ComparePanel): Promise<void> {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Compression Lab', cancellable: true }, async (progress, token) => {
      let cancelled = false;
      const total = plans.reduce((n, p) => n + planConfigs(p).length, 0);
      let doneBefore = 0;
      let lastFraction = 0;
      for (const plan of plans) {
        if (cancelled) break;
        const name = path.basename(path.dirname(plan.model)) || plan.model;
        this.log.appendLine(`benchmark ${plan.model}: ${JSON.stringify({ batches: plan.batches, seqs: plan.seqs, threads: plan.threads, warmup: plan.warmup, runs: plan.runs, session: plan.session })}`);
        const job = startBenchmarkJob(this.workerPath, plan, {
          timeoutMs: timeoutMsFromSettings(),
          onLog: (l) => this.log.appendLine(`[worker] ${l}`),
          onProgress: (p) => {
            const within = p.phase === 'measure' && p.runs ? (p.run ?? 0) / p.runs : p.phase === 'done' ? 1 : 0;
            const fraction = (doneBefore + p.configIndex + within) / total;
            const message = describeProgress(name, p);
            progress.report({ message, increment: Math.max(0, (fraction - lastFraction) * 100) });
            lastFraction = Math.max(lastFraction, fraction);
            panel.progress(message, fraction);
            if (p.phase === 'done' && p.result) {
              const r = p.result;
              this.log.appendLine(`  batch ${r.batch} seq ${r.seq} threads ${r.threads}: p50 ${r.stats.p50.toFixed(3)} ms, p95 ${r.stats.p95.toFixed(3)} ms, ${r.throughput.sequencesPerSec.toFixed(1)} seq/s, cv ${(100 * r.stats.cv).toFixed(1)}%${r.noisy ? ' (noisy)' : ''}`);
            }
          },
        });
        const stop = () => { cancelled = true; job.cancel(); };
        const sub = token.onCancellationRequested(stop);
        panel.onCancel = stop;
        const run: BenchmarkRun = await job.done;
        sub.dispose();
        doneBefore += planConfigs(plan).length;
        const file = this.store.save(run);
        this.log.appendLine(`  ${run.status}${run.error ? `: ${run.error}` : ''}; saved ${file}`);
        panel.addRun(file);
        if (run.status !== 'complete') {
          void vscode.window.showWarningMessage(`Benchmark of ${run.model.name} ${run.status === 'cancelled' ? 'was cancelled' : run.status === 'timeout' ? 'timed out' : 'failed'}${run.error ? `: ${run.error}` : ''}. ${run.results.length} configuration(s) completed were kept.`);
        }
      }
      panel.onCancel = undefined;
      panel.idle(cancelled ? 'Cancelled; completed configurations were kept.' : undefined);
    });
  }
}
