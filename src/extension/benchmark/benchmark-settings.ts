import { cpus } from 'node:os';
import * as vscode from 'vscode';
import type { BenchmarkPlan, GraphOptimizationLevel } from '../../core/benchmark/types';

/** The plan the settings (`compressionLab.benchmark.*`) describe for a model. */
export function planFromSettings(model: string): BenchmarkPlan {
  const c = vscode.workspace.getConfiguration('compressionLab.benchmark');
  const ints = (k: string, d: number[]) => {
    const v = c.get<number[]>(k, d);
    return Array.isArray(v) && v.length && v.every((x) => Number.isInteger(x) && x >= 1) ? v : d;
  };
  const threads = ints('threads', []);
  return {
    model,
    batches: ints('batchSizes', [1]),
    seqs: ints('sequenceLengths', [128]),
    threads: threads.length ? threads : [Math.max(1, cpus().length)],
    warmup: Math.max(0, c.get<number>('warmup', 5)),
    runs: Math.max(1, c.get<number>('runs', 30)),
    session: {
      graphOptimizationLevel: c.get<GraphOptimizationLevel>('graphOptimizationLevel', 'all'),
      executionMode: c.get<'sequential' | 'parallel'>('executionMode', 'sequential'),
      enableCpuMemArena: c.get<boolean>('enableCpuMemArena', true),
      executionProvider: 'cpu',
    },
    inputs: { kind: 'synthetic' },
  };
}

export function timeoutMsFromSettings(): number {
  return Math.max(10, vscode.workspace.getConfiguration('compressionLab.benchmark').get<number>('timeoutSeconds', 1800)) * 1000;
}

/** "1,8" -> [1, 8]; undefined when the text is not a list of positive whole numbers. */
export function parseIntList(text: string): number[] | undefined {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) return undefined;
  const xs = parts.map(Number);
  return xs.every((x) => Number.isInteger(x) && x >= 1 && x <= 1_000_000) ? xs : undefined;
}

export function describePlan(p: BenchmarkPlan): string {
  return `batch ${p.batches.join(',')} · seq ${p.seqs.join(',')} · threads ${p.threads.join(',')} · warm-up ${p.warmup} · ${p.runs ?? 30} runs`;
}

/**
 * The quick settings form: start with the defaults, or change them one list at a time.
 * Returns undefined when the user dismisses it.
 */
export async function askPlan(model: string): Promise<BenchmarkPlan | undefined> {
  const plan = planFromSettings(model);
  for (;;) {
    const start = { label: '$(play) Start', description: describePlan(plan) };
    const edits: Array<{ label: string; description: string; key: 'batches' | 'seqs' | 'threads' | 'runs' | 'warmup' }> = [
      { label: 'Batch sizes...', description: plan.batches.join(', '), key: 'batches' },
      { label: 'Sequence lengths...', description: plan.seqs.join(', '), key: 'seqs' },
      { label: 'Threads...', description: plan.threads.join(', '), key: 'threads' },
      { label: 'Measured runs...', description: String(plan.runs), key: 'runs' },
      { label: 'Warm-up runs...', description: String(plan.warmup), key: 'warmup' },
    ];
    const pick = await vscode.window.showQuickPick([start, ...edits], { title: `Benchmark ${model}`, placeHolder: 'Start with these settings, or change one' });
    if (!pick) return undefined;
    if (pick === start) return plan;
    const edit = edits.find((e) => e === pick)!;
    const value = await vscode.window.showInputBox({
      title: edit.label.replace('...', ''),
      value: edit.description.replace(/\s/g, ''),
      validateInput: (t) => {
        const xs = parseIntList(t);
        if (!xs) return 'whole numbers from 1, separated by commas';
        if ((edit.key === 'runs' || edit.key === 'warmup') && xs.length !== 1) return 'one number';
        return undefined;
      },
    });
    if (value === undefined) continue;
    const xs = parseIntList(value)!;
    if (edit.key === 'runs') plan.runs = xs[0];
    else if (edit.key === 'warmup') plan.warmup = xs[0];
    else plan[edit.key] = xs;
  }
}
