// A saved training run as the run panel shows it, and the state a panel's page keeps for VS Code
// to hand back after a reload. No vscode import: tested in Node.
import { existsSync } from 'node:fs';
import type { HostToRunEvents, RunHeader, RunLayerMap, RunPlan } from '../../shared/protocol';
import { settingsOf, type TrainingRecord } from './training-kind';

/** What the page keeps (vscode.setState) for VS Code to hand back after a reload. */
export interface RunPanelState {
  runFile: string;
  plan?: RunPlan;
  layerMap?: RunLayerMap;
}

const KIND_TITLE: Record<string, string> = { train: 'Fine-tune', distill: 'Distill' };

/** The run panel's button (and the end message's): a distillation's original is its teacher. */
export function compareLabel(kind: string): string {
  return kind === 'distill' ? 'Compare with the teacher' : 'Compare with the original';
}

export function panelTitle(header: Pick<RunHeader, 'kind' | 'model'>): string {
  return `${KIND_TITLE[header.kind] ?? header.kind}: ${header.model}`;
}

/** The state a page handed back, checked: it comes from the webview. */
export function runPanelState(x: unknown): RunPanelState | undefined {
  const s = x as Partial<RunPanelState> | undefined;
  if (!s || typeof s !== 'object' || typeof s.runFile !== 'string' || !s.runFile.endsWith('.json')) return undefined;
  const plan = s.plan && typeof s.plan === 'object' && (s.plan.totalSteps === undefined || Number.isSafeInteger(s.plan.totalSteps)) ? s.plan : undefined;
  const map = s.layerMap;
  const layerMap = map && typeof map === 'object' && Number.isSafeInteger(map.teacherLayers) && Number.isSafeInteger(map.studentLayers) && Array.isArray(map.links) ? map : undefined;
  return { runFile: s.runFile, ...(plan ? { plan } : {}), ...(layerMap ? { layerMap } : {}) };
}

/** A saved training run as the panel's first message. */
export function savedSnapshot(file: string, record: TrainingRecord, extra: { plan?: RunPlan; layerMap?: RunLayerMap } = {}): HostToRunEvents['snapshot'] {
  const r = record.result;
  const last = r.history[r.history.length - 1];
  const settings = settingsOf(record.settings);
  const out = settings.out;
  const hasOut = !!out && existsSync(out);
  // A finished run's length is its last step; a stopped one's is the plan, when it is known.
  const totalSteps = extra.plan?.totalSteps ?? (record.status === 'complete' && last ? last.step : settings.maxSteps);
  const elapsedMs = r.durationSec !== undefined ? r.durationSec * 1000 : r.history.reduce((t, s) => t + (s.ms || 0), 0);
  // A distillation's record keeps its layer map (its interim record too, once the job announced
  // it); the page's own copy covers a record from before that.
  const layerMap = (record.kind === 'distill' ? record.result.layerMap : undefined) ?? extra.layerMap;
  return {
    header: {
      kind: record.kind, title: panelTitle({ kind: record.kind, model: record.model.name }), model: record.model.name, modelPath: record.model.path,
      ...(out ? { out } : {}), runFile: file, status: record.status, ...(record.error ? { error: record.error } : {}), live: false,
      ...(hasOut ? { compare: { label: compareLabel(record.kind) } } : {}),
    },
    plan: { ...extra.plan, ...(totalSteps !== undefined ? { totalSteps } : {}), ...(r.startStep !== undefined ? { startStep: r.startStep } : {}) },
    steps: r.history, evals: r.evals, ...(layerMap ? { layerMap } : {}), elapsedMs,
  };
}
