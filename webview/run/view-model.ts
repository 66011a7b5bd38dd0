// What the run panel shows, computed from its state: the header's figures (step, steps/s, ETA,
// elapsed), which series each chart draws, the stage markers and the evaluation table. Pure
// functions of the state (and of the clock, passed in), tested in Node.
import { DASH, formatCount, formatDuration, formatRate } from '../../src/core/format';
import type { RunPanelStatus } from '../../src/shared/protocol';
import type { RunState, StageMark } from './state';

export interface Throughput {
  stepsPerSec?: number;
  examplesPerSec?: number;
}

/** Over the newest steps' own wall times: evaluation and saving pauses do not count. */
export function throughput(s: Pick<RunState, 'recent'>): Throughput {
  let ms = 0;
  let examples = 0;
  for (const r of s.recent) { ms += r.ms; examples += r.examples; }
  if (!(ms > 0) || s.recent.length === 0) return {};
  return { stepsPerSec: (1000 * s.recent.length) / ms, examplesPerSec: examples > 0 ? (1000 * examples) / ms : undefined };
}

/** Seconds left at the current pace; undefined when the length of the run or the pace is unknown. */
export function etaSeconds(s: Pick<RunState, 'recent' | 'plan' | 'last' | 'header'>): number | undefined {
  const total = s.plan?.totalSteps;
  const rate = throughput(s).stepsPerSec;
  if (!s.header?.live || !total || !rate || !s.last) return undefined;
  return Math.max(0, total - s.last.step) / rate;
}

/** The run's wall time at page time `now`: it runs on between messages while the job is live. */
export function elapsedMs(s: Pick<RunState, 'clock' | 'header'>, now: number): number {
  return s.clock.elapsedMs + (s.header?.live ? Math.max(0, now - s.clock.at) : 0);
}

const STATUS: Record<RunPanelStatus, { label: string; tone: 'busy' | 'ok' | 'warn' | 'bad' }> = {
  starting: { label: 'Starting', tone: 'busy' },
  running: { label: 'Running', tone: 'busy' },
  cancelling: { label: 'Cancelling', tone: 'warn' },
  complete: { label: 'Complete', tone: 'ok' },
  cancelled: { label: 'Cancelled', tone: 'warn' },
  failed: { label: 'Failed', tone: 'bad' },
  timeout: { label: 'Timed out', tone: 'bad' },
};

export function statusOf(s: RunState): { status: RunPanelStatus; label: string; tone: string } {
  const status: RunPanelStatus = s.header?.live && s.cancelRequested ? 'cancelling' : s.header?.status ?? 'starting';
  return { status, ...(STATUS[status] ?? { label: status, tone: 'warn' }) };
}

/** A loss the way the header and the notification show it. */
export function formatLoss(x: number | undefined): string {
  if (x === undefined) return DASH;
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4);
}

export interface HeaderView {
  stepText: string;
  /** 'of 1,000' under the step, when the plan says. */
  stepOf: string;
  step?: number;
  /** 0..1 of the plan, when known. */
  fraction?: number;
  epochText: string;
  epochOf: string;
  lossText: string;
  rateText: string;
  etaText: string;
  elapsedText: string;
  /** The progress widget's line while the job runs. */
  progressMessage: string;
  /** The line shown once it has ended (the status tag and the error say the rest). */
  endMessage?: string;
}

export function headerView(s: RunState, now: number): HeaderView {
  const total = s.plan?.totalSteps;
  const step = s.last?.step;
  const t = throughput(s);
  const eta = etaSeconds(s);
  const spe = s.plan?.stepsPerEpoch;
  // A run bounded by steps plans "as many epochs as it takes": its length in epochs is the steps'.
  const epochs = s.plan?.epochs !== undefined && total && spe ? Math.min(s.plan.epochs, Math.ceil(total / spe)) : s.plan?.epochs;
  const stepText = step === undefined ? DASH : formatCount(step);
  const epochText = step !== undefined && spe ? (step / spe).toFixed(2) : s.last ? String(s.last.epoch + 1) : DASH;
  const running = s.header?.live;
  const status = statusOf(s).status;
  let progressMessage = s.phase ?? 'Starting';
  if (step !== undefined) {
    // A phase reported after the last step (saving at the end) is what the job is doing now.
    progressMessage = s.phase && s.phaseAt === s.count && s.count > 0 && running
      ? `${s.phase} (after step ${formatCount(step)})`
      : `Step ${formatCount(step)}${total ? ` of ${formatCount(total)}` : ''} · loss ${formatLoss(s.last?.loss)}`;
  }
  let endMessage: string | undefined;
  if (!running && s.header) {
    const steps = step !== undefined ? `${formatCount(step)} step${step === 1 ? '' : 's'}` : 'no steps';
    if (status === 'complete') endMessage = `Finished: ${steps} in ${formatDuration(s.clock.elapsedMs / 1000)}.`;
    else if (status === 'cancelled') endMessage = `Stopped after ${steps}; what was done is kept in the Runs view.`;
  }
  return {
    stepText, stepOf: total ? `of ${formatCount(total)}` : '', epochOf: epochs ? `of ${formatCount(epochs)}` : '', step, fraction: total && step !== undefined ? Math.min(1, step / total) : undefined,
    epochText, lossText: formatLoss(s.last?.loss),
    rateText: t.stepsPerSec !== undefined ? `${formatRate(t.stepsPerSec)} steps/s` : DASH,
    etaText: eta !== undefined ? formatDuration(eta) : DASH,
    elapsedText: formatDuration(elapsedMs(s, now) / 1000),
    progressMessage, endMessage,
  };
}

// ---------------------------------------------------------------------------------------------
// Charts

/** The loss chart's lines: the total first, then each term, as the series name them. */
export function lossNames(s: Pick<RunState, 'terms' | 'steps'>): string[] {
  const names = ['loss', ...s.terms.map((t) => `loss_${t}`)];
  const present = new Set(s.steps.series.map((x) => x.name));
  return names.filter((n) => present.has(n));
}

/** `loss_kd` -> 'kd'; `loss` -> 'total'. */
export function lineLabel(name: string): string {
  if (name === 'loss') return 'total';
  if (name.startsWith('loss_')) return name.slice(5);
  return ({ lr: 'learning rate', grad_norm: 'gradient norm', accuracy: 'accuracy', agreement: 'agreement with the teacher', kl: 'KL(teacher ‖ student)', eval_loss: 'eval loss' } as Record<string, string>)[name] ?? name;
}

/** The evaluation chart's lines: shares (left axis) and losses (right axis). */
export function evalNames(s: Pick<RunState, 'evalSeries'>): { shares: string[]; losses: string[] } {
  const present = new Set(s.evalSeries.series.map((x) => x.name));
  return { shares: ['accuracy', 'agreement'].filter((n) => present.has(n)), losses: ['eval_loss', 'kl'].filter((n) => present.has(n)) };
}

/** Vertical markers go where a stage changes: the first stage starts with the run and needs none. */
export function stageMarkers(s: Pick<RunState, 'stages'>): StageMark[] {
  return s.stages.slice(1);
}

/** The stages for the legend, with where each begins. */
export function stageLegend(s: Pick<RunState, 'stages'>): Array<{ stage: string; from: string }> {
  return s.stages.filter((m) => m.stage).map((m) => ({ stage: m.stage, from: `from step ${formatCount(m.x)}` }));
}

export interface EvalRow {
  step: string;
  epoch: string;
  accuracy: string;
  loss: string;
  agreement?: string;
  kl?: string;
  stage?: string;
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : DASH);

export function evalRows(s: Pick<RunState, 'evals' | 'plan'>): { rows: EvalRow[]; agreement: boolean; stages: boolean } {
  const spe = s.plan?.stepsPerEpoch;
  const agreement = s.evals.some((e) => e.agreement !== undefined || e.kl !== undefined);
  const stages = s.evals.some((e) => !!e.stage);
  const rows = s.evals.map((e): EvalRow => ({
    step: formatCount(e.step),
    // The step says where in the data the evaluation was: 1.00 is the end of the first epoch.
    epoch: spe ? (e.step / spe).toFixed(2) : DASH,
    accuracy: pct(e.accuracy),
    loss: typeof e.loss === 'number' ? formatLoss(e.loss) : DASH,
    ...(agreement ? { agreement: e.agreement !== undefined ? pct(e.agreement) : DASH, kl: e.kl !== undefined ? formatLoss(e.kl) : DASH } : {}),
    ...(stages ? { stage: e.stage ?? DASH } : {}),
  }));
  return { rows, agreement, stages };
}
