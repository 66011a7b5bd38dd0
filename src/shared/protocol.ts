// The one protocol module for every message that crosses a process or frame boundary:
// extension host <-> worker process, extension host <-> webview. Messages are typed by direction;
// requests carry an id that their reply repeats; every request has a timeout. Imported by Node
// code and by the browser bundle alike, so it uses neither Node nor VS Code APIs.
import type { ModelCard } from '../core/analysis/model-card';
import type { FlopsReport } from '../core/analysis/flops';
import type { BenchmarkConfig } from '../core/benchmark/types';
import type { CompareView } from '../core/benchmark/compare-view';
import type { JobKind, JobParams, JobProgress, JobResult } from '../core/jobs/kinds';
import { UserError, type UserErrorInfo } from '../core/errors';
import type { EvalLog, StepLog } from '../core/training/training-loop';
import type { CompressionReport } from '../core/report/build-report';
export type { CompareView, CompressionReport };

/** A job to run: one kind among the kinds in core/jobs/kinds.ts, with that kind's params. */
export type JobRequest = { [K in JobKind]: { kind: K; params: JobParams<K> } }[JobKind];
/** A job's answer: it finished, or it stopped early when asked (and says what it had done). */
export type JobAnswer = { [K in JobKind]: { kind: K; status: 'complete' | 'cancelled'; result: JobResult<K> } }[JobKind];
/** Progress of the job started by request `jobId`. */
export type JobProgressEvent = { [K in JobKind]: { jobId: number; kind: K; progress: JobProgress<K> } }[JobKind];

/** Request methods, their parameters and results, per channel. */
export type WorkerMethods = {
  inspect: { params: { path: string; seq: number }; result: ModelCard };
  flops: { params: { path: string; seq: number }; result: FlopsReport };
  /** Runs a job; its progress comes as 'jobProgress' events carrying this request's id as jobId. */
  job: { params: JobRequest; result: JobAnswer };
  /** Asks a running job to stop at its next check (between runs, between steps); it then answers 'cancelled'. */
  cancel: { params: { jobId: number }; result: { cancelled: boolean } };
};
export type WorkerEvents = {
  progress: { requestId: number; message: string; fraction?: number };
  jobProgress: JobProgressEvent;
};

export type WebviewMethods = {
  /** FLOPs at another sequence length, for the card's control. */
  flops: { params: { seq: number }; result: FlopsReport };
};
export type HostToWebviewEvents = {
  progress: { message: string; fraction?: number };
  card: { card: ModelCard; fileName: string };
  error: { file: string; problem: string };
};
export type WebviewEvents = {
  ready: Record<string, never>;
  /** The user asked to inspect the file again (after fixing it on disk). */
  reload: Record<string, never>;
};

export type HostToCompareEvents = {
  view: CompareView;
  /** A job in progress (benchmarking before the comparison); fraction in 0..1. */
  progress: { message: string; fraction?: number };
  /** No longer running (finished, cancelled or failed); the message says which. */
  idle: { message?: string };
  error: { message: string };
};
export type CompareEvents = {
  ready: Record<string, never>;
  setBaseline: { index: number };
  setConfig: BenchmarkConfig;
  export: { format: 'markdown' | 'csv' };
  cancel: Record<string, never>;
};

export type MethodMap = Record<string, { params: unknown; result: unknown }>;
export type EventMap = Record<string, unknown>;

/**
 * An error as it crosses a boundary: a user error keeps its fields (so the other side still has a
 * UserError with file, problem and code), anything else its name, message and stack.
 */
export type ErrorInfo = (UserErrorInfo & { message: string }) | { name: string; message: string; stack?: string };

export type Message =
  | { kind: 'request'; id: number; method: string; params: unknown }
  | { kind: 'reply'; id: number; ok: true; result: unknown }
  | { kind: 'reply'; id: number; ok: false; error: ErrorInfo }
  | { kind: 'event'; type: string; payload: unknown };

export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof UserError) return { ...e.toInfo(), message: e.message };
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { name: 'Error', message: String(e) };
}

/** An internal error from the other side of a channel: its stack is the remote one. */
export class RemoteError extends Error {
  constructor(info: { name: string; message: string; stack?: string }) {
    super(info.message);
    this.name = info.name || 'Error';
    if (info.stack) this.stack = info.stack;
  }
}

export function errorFromInfo(info: ErrorInfo): Error {
  return 'code' in info && typeof info.code === 'string' && typeof info.problem === 'string' ? UserError.fromInfo(info) : new RemoteError(info);
}

/** Structural check of anything that arrives over a channel: a bad message is dropped, never trusted. */
export function isMessage(x: unknown): x is Message {
  if (!x || typeof x !== 'object') return false;
  const m = x as Record<string, unknown>;
  switch (m.kind) {
    case 'request': return Number.isSafeInteger(m.id) && typeof m.method === 'string';
    case 'reply': return Number.isSafeInteger(m.id) && typeof m.ok === 'boolean' && (m.ok || isErrorInfo(m.error));
    case 'event': return typeof m.type === 'string';
    default: return false;
  }
}

function isErrorInfo(x: unknown): x is ErrorInfo {
  const e = x as Record<string, unknown> | null;
  return !!e && typeof e === 'object' && typeof e.message === 'string' && typeof e.name === 'string';
}

export class RequestTimeoutError extends Error {
  constructor(method: string, ms: number) {
    super(`${method} did not answer within ${Math.round(ms / 1000)} s`);
    this.name = 'RequestTimeoutError';
  }
}

type Handler<P, R> = (params: P, id: number) => Promise<R> | R;

/**
 * One side of a channel. `Out` methods are requested from the other side, `In` methods answered
 * here; `OutEvents` are sent, `InEvents` received. The transport is a post function and a call to
 * `receive` for each incoming message.
 */
export class Endpoint<Out extends MethodMap, In extends MethodMap, OutEvents extends EventMap, InEvents extends EventMap> {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  private handlers = new Map<string, Handler<unknown, unknown>>();
  private listeners = new Map<string, Array<(payload: unknown) => void>>();

  constructor(private readonly post: (m: Message) => void, private readonly defaultTimeoutMs = 60_000) {}

  request<M extends keyof Out & string>(method: M, params: Out[M]['params'], timeoutMs = this.defaultTimeoutMs): Promise<Out[M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestTimeoutError(method, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        this.post({ kind: 'request', id, method, params });
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(e as Error);
      }
    });
  }

  /** The id the next request will carry (so a caller can match events it causes). */
  peekNextId(): number {
    return this.nextId;
  }

  handle<M extends keyof In & string>(method: M, handler: Handler<In[M]['params'], In[M]['result']>): void {
    this.handlers.set(method, handler as Handler<unknown, unknown>);
  }

  emit<E extends keyof OutEvents & string>(type: E, payload: OutEvents[E]): void {
    this.post({ kind: 'event', type, payload });
  }

  on<E extends keyof InEvents & string>(type: E, listener: (payload: InEvents[E]) => void): () => void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener as (p: unknown) => void);
    this.listeners.set(type, list);
    return () => this.listeners.set(type, (this.listeners.get(type) ?? []).filter((l) => l !== listener));
  }

  /** Feeds one incoming message; anything malformed is ignored. */
  receive(raw: unknown): void {
    if (!isMessage(raw)) return;
    const m = raw;
    if (m.kind === 'reply') {
      const p = this.pending.get(m.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result); else p.reject(errorFromInfo(m.error));
    } else if (m.kind === 'request') {
      const h = this.handlers.get(m.method);
      if (!h) { this.post({ kind: 'reply', id: m.id, ok: false, error: { name: 'Error', message: `unknown method '${m.method}'` } }); return; }
      Promise.resolve()
        .then(() => h(m.params, m.id))
        .then(
          (result) => this.post({ kind: 'reply', id: m.id, ok: true, result }),
          (e: unknown) => this.post({ kind: 'reply', id: m.id, ok: false, error: errorInfo(e) }),
        );
    } else {
      for (const l of this.listeners.get(m.type) ?? []) l(m.payload);
    }
  }

  /** Fails every pending request (the other side is gone). */
  failAll(error: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(error);
      this.pending.delete(id);
    }
  }
}

/** Validators for parameters that come from the less trusted side (the webview). */
export function validSeq(x: unknown): number | undefined {
  const seq = (x as { seq?: unknown } | null)?.seq;
  return typeof seq === 'number' && Number.isInteger(seq) && seq >= 1 && seq <= 1_000_000 ? seq : undefined;
}

// ---------------------------------------------------------------------------------------------
// Training runs: the job form (Fine-tune Model..., and Distill to come) and the live run panel.
// The form is described by the host (its fields, their order and sections), so one webview
// serves every training-like job; values travel as the text the user typed, and the host parses
// and checks them, answering with problems by field.

/** How a form field is edited ('text': free text the host parses, such as a list of layers). */
export type JobFormFieldType = 'file' | 'number' | 'choice' | 'text';

export interface JobFormField {
  /** The job option it sets, in the core's naming (model, lr, maxSteps...). */
  id: string;
  label: string;
  type: JobFormFieldType;
  required?: boolean;
  /** A line under the field saying what it is for. */
  hint?: string;
  placeholder?: string;
  /** For 'choice'. */
  options?: Array<{ value: string; label: string }>;
  /** For 'choice': few options shown as radio buttons rather than a dropdown. */
  radio?: boolean;
  /** For 'file': Browse picks a file to write (a save dialog), not one to read. */
  save?: boolean;
  /** Shown only while another field has this value, or one of these (epochs | max steps; a recipe's own fields). */
  showWhen?: { field: string; value: string | readonly string[] };
}

export interface JobFormSection {
  title: string;
  fields: JobFormField[];
}

export interface JobFormSpec {
  /** The job kind the form starts ('train', 'distill', 'quantize'). */
  kind: string;
  title: string;
  intro?: string;
  submitLabel: string;
  sections: JobFormSection[];
}

/** Field id -> the text in the field. */
export type JobFormValues = Record<string, string>;

/** What stops a form from starting: problems by field id, and one about the whole form. */
export interface JobFormProblems {
  fields: Record<string, string>;
  form?: string;
}

export type HostToJobFormEvents = {
  /** The form to show, with its first values; sent after each 'ready'. */
  init: { spec: JobFormSpec; values: JobFormValues; notes: Record<string, string> };
  /**
   * Values the host derived (a model's max length, an output path beside it, the lr for another
   * optimizer): applied only to fields the user has not edited. Notes replace the fields' notes.
   */
  defaults: { values: JobFormValues; notes: Record<string, string> };
  problems: JobFormProblems;
};
export type JobFormMethods = {
  /** A file dialog for a field; the chosen path, or nothing when dismissed. */
  browse: { params: { field: string; values: JobFormValues }; result: { value?: string } };
  /** Checks and, when there is no problem, starts the job (the form then closes). */
  start: { params: { values: JobFormValues }; result: { started: boolean; problems: JobFormProblems } };
};
export type JobFormEvents = {
  ready: Record<string, never>;
  /** The user changed a field: the host may derive defaults and check again. */
  changed: { field: string; values: JobFormValues };
};

/** Which teacher layer initialises and/or supervises which student layer; 0 is the embeddings. */
export interface RunLayerLink {
  student: number;
  teacher: number;
  role: 'init' | 'supervise' | 'both';
}

export interface RunLayerMap {
  teacherLayers: number;
  studentLayers: number;
  links: RunLayerLink[];
}

/** The plan of a training-like run, as its 'start' progress announced it. */
export interface RunPlan {
  totalSteps?: number;
  stepsPerEpoch?: number;
  epochs?: number;
  startStep?: number;
  terms?: string[];
  trainExamples?: number;
  evalExamples?: number;
}

/** 'starting' and 'running' while a job is attached; a saved run's JobStatus otherwise. */
export type RunPanelStatus = 'starting' | 'running' | 'cancelling' | 'complete' | 'cancelled' | 'failed' | 'timeout';

/** The panel's header: what the run is and where it stands; sent whole when it changes. */
export interface RunHeader {
  kind: string;
  title: string;
  model: string;
  modelPath: string;
  out?: string;
  /** The run record (saved while the job runs, and at its end): what a reload reopens. */
  runFile?: string;
  status: RunPanelStatus;
  error?: string;
  /** A job is attached to this panel: Cancel is offered. */
  live: boolean;
  /** The run left a model to compare with its original ("Compare with the original"). */
  compare?: { label: string };
}

export type HostToRunEvents = {
  /**
   * Everything the panel shows, from nothing: sent once after each 'ready' (a new page, or one
   * restored after a reload). It is the only message that carries history.
   */
  snapshot: {
    header: RunHeader;
    plan?: RunPlan;
    steps: StepLog[];
    evals: EvalLog[];
    layerMap?: RunLayerMap;
    phase?: string;
    /** Wall time of the run so far (host clock), ms. */
    elapsedMs: number;
  };
  /** What is new since the last message: steps and evaluations never sent before, oldest first. */
  progress: {
    steps: StepLog[]; evals: EvalLog[]; plan?: RunPlan; phase?: string; elapsedMs: number;
    /** A distillation's layer map, once its job announced it (with its plan, before the first step). */
    layerMap?: RunLayerMap;
  };
  header: RunHeader;
};
export type RunEvents = {
  ready: Record<string, never>;
  cancel: Record<string, never>;
  compare: Record<string, never>;
};

// ---------------------------------------------------------------------------------------------
// The compression report panel: the host builds the report from the workspace's saved runs (and
// the model files they name) and sends it whole; the page draws the table and the charts.

export type HostToReportEvents = {
  /** The report, built afresh (on open, on Refresh, after a reload). */
  report: { report: CompressionReport; runsFolder: string; runCount: number };
  /** The host is building the report: reading runs, hashing and reading model files. */
  busy: { message: string };
  error: { message: string };
};
export type ReportEvents = {
  ready: Record<string, never>;
  refresh: Record<string, never>;
  export: { format: 'html' | 'markdown' | 'csv' };
};
