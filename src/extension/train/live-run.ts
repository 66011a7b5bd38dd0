// A training-like job as the extension host holds it while it runs: everything it reported so
// far (steps, evaluations, plan, phase) and how it stands, for any number of run panels to show.
// A panel that opens late, or is reopened after being closed, catches up from here; the job
// itself never has to resend anything. No vscode import: tested in Node.
import type { EvalLog, StepLog } from '../../core/training/training-loop';
import type { TrainProgress } from '../../core/training/progress';
import type { HostToRunEvents, RunHeader, RunLayerMap, RunPlan } from '../../shared/protocol';

export class LiveRun {
  readonly steps: StepLog[] = [];
  readonly evals: EvalLog[] = [];
  plan?: RunPlan;
  phase?: string;
  /** The newest checkpoint the job reported, for the interim record. */
  checkpoint?: string;
  private readonly t0 = performance.now();
  private endedMs?: number;
  private readonly listeners = new Set<() => void>();
  private readonly headerListeners = new Set<() => void>();
  /** Called when a panel asks to stop the job. */
  onCancel?: () => void;
  /** What "Compare with the original" compares: the original (the baseline) and the job's output. */
  comparison?: { original: string; output: string };

  /** Teacher -> student layers: given up front, or announced by a distillation's 'start' report. */
  layerMap?: RunLayerMap;

  constructor(private currentHeader: RunHeader, layerMap?: RunLayerMap) {
    this.layerMap = layerMap;
  }

  get header(): RunHeader {
    return this.currentHeader;
  }

  get elapsedMs(): number {
    return (this.endedMs ?? performance.now()) - this.t0;
  }

  get lastStep(): StepLog | undefined {
    return this.steps[this.steps.length - 1];
  }

  /** Takes one progress report of a training-like job (train now; distill reports the same type). */
  progress(p: TrainProgress): void {
    switch (p.type) {
      // A phase is what the job does between steps: once steps come again, it is over.
      case 'steps': this.steps.push(...p.steps); this.phase = undefined; break;
      case 'eval': this.evals.push(p.eval); break;
      case 'start': {
        // The layer map and stages are not part of the plan the panel's header reads; the map is
        // drawn on its own, and stages show as markers from the steps' own stage names.
        const { type: _type, layerMap, stages: _stages, ...plan } = p;
        this.plan = plan;
        if (layerMap) this.layerMap = layerMap;
        break;
      }
      case 'phase': this.phase = p.message; break;
      case 'checkpoint': this.checkpoint = p.file; break;
      default: return;
    }
    if (this.currentHeader.status === 'starting' && p.type === 'steps') this.currentHeader = { ...this.currentHeader, status: 'running' };
    for (const l of this.listeners) l();
  }

  setHeader(change: Partial<RunHeader>): void {
    this.currentHeader = { ...this.currentHeader, ...change };
    if (!this.currentHeader.live && this.endedMs === undefined) this.endedMs = performance.now();
    for (const l of this.headerListeners) l();
  }

  /** `onData` on new steps, evaluations, plan or phase; `onHeader` when the header changes. */
  subscribe(onData: () => void, onHeader: () => void): () => void {
    this.listeners.add(onData);
    this.headerListeners.add(onHeader);
    return () => { this.listeners.delete(onData); this.headerListeners.delete(onHeader); };
  }

  cancel(): void {
    if (!this.currentHeader.live || this.currentHeader.status === 'cancelling') return;
    this.setHeader({ status: 'cancelling' });
    this.onCancel?.();
  }
}

/** The running jobs of this extension host, by run file: what a reopened panel reattaches to. */
export class LiveRuns {
  private readonly runs = new Map<string, LiveRun>();

  add(file: string, run: LiveRun): void {
    this.runs.set(file, run);
  }

  get(file: string): LiveRun | undefined {
    return this.runs.get(file);
  }

  delete(file: string, run: LiveRun): void {
    if (this.runs.get(file) === run) this.runs.delete(file);
  }

  all(): LiveRun[] {
    return [...this.runs.values()];
  }
}

/** The panel's side of the host->webview channel. */
export interface RunSink {
  emit<E extends keyof HostToRunEvents & string>(type: E, payload: HostToRunEvents[E]): void;
}

/** At most this many progress messages a second reach a panel, however fast the steps come. */
export const FEED_INTERVAL_MS = 100;

/**
 * One page's view of a live run: a snapshot once, then only what is new, at most one message per
 * FEED_INTERVAL_MS (a fast job's steps wait a little and go together). A header change goes at
 * once, after any data still waiting, so a panel never sees "cancelled" before the last steps.
 */
export class RunFeed {
  private sentSteps = 0;
  private sentEvals = 0;
  private sentPlan?: RunPlan;
  private sentPhase?: string;
  private sentLayerMap?: RunLayerMap;
  private lastFlush = -Infinity;
  private timer?: ReturnType<typeof setTimeout>;
  private readonly stop: () => void;
  private closed = false;

  constructor(private readonly run: LiveRun, private readonly sink: RunSink, private readonly intervalMs = FEED_INTERVAL_MS) {
    this.stop = run.subscribe(() => this.schedule(), () => { this.flush(); this.sink.emit('header', this.run.header); });
    const r = run;
    this.sink.emit('snapshot', {
      header: r.header, plan: r.plan, steps: r.steps.slice(), evals: r.evals.slice(), layerMap: r.layerMap, phase: r.phase, elapsedMs: r.elapsedMs,
    });
    this.sentSteps = r.steps.length;
    this.sentEvals = r.evals.length;
    this.sentPlan = r.plan;
    this.sentPhase = r.phase;
    this.sentLayerMap = r.layerMap;
    this.lastFlush = performance.now();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - performance.now());
    this.timer = setTimeout(() => { this.timer = undefined; this.flush(); }, wait);
  }

  /** Sends what is new now (nothing when nothing is). */
  flush(): void {
    if (this.closed) return;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const r = this.run;
    const fresh = r.steps.length > this.sentSteps || r.evals.length > this.sentEvals || r.plan !== this.sentPlan || r.phase !== this.sentPhase || r.layerMap !== this.sentLayerMap;
    if (!fresh) return;
    this.sink.emit('progress', {
      steps: r.steps.slice(this.sentSteps), evals: r.evals.slice(this.sentEvals),
      ...(r.plan !== this.sentPlan ? { plan: r.plan } : {}), ...(r.phase !== this.sentPhase ? { phase: r.phase } : {}),
      ...(r.layerMap && r.layerMap !== this.sentLayerMap ? { layerMap: r.layerMap } : {}),
      elapsedMs: r.elapsedMs,
    });
    this.sentSteps = r.steps.length;
    this.sentEvals = r.evals.length;
    this.sentPlan = r.plan;
    this.sentPhase = r.phase;
    this.sentLayerMap = r.layerMap;
    this.lastFlush = performance.now();
  }

  dispose(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.stop();
  }
}
