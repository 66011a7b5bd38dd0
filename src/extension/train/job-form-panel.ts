// The job form's host side, for any training-like job: the page shows the fields a controller
// describes, the controller checks what the user typed and starts the job. The page is never
// trusted: values arrive as text, and only the controller turns them into options.
import * as vscode from 'vscode';
import { Endpoint, type HostToJobFormEvents, type JobFormEvents, type JobFormMethods, type JobFormProblems, type JobFormSpec, type JobFormValues, type Message } from '../../shared/protocol';
import { PanelHost } from '../panel-host';

export const JOB_FORM_VIEW = 'compressionLab.jobForm';

export interface JobFormController {
  spec: JobFormSpec;
  values: JobFormValues;
  /** The field the others follow (the model; Distill's teacher): derived from as soon as the page is up. */
  primaryField?: string;
  notes?: Record<string, string>;
  /** After a change: values derived from it (for fields the user has not edited) and notes. */
  derive?(field: string, values: JobFormValues): Promise<{ values: JobFormValues; notes: Record<string, string> } | undefined>;
  /** Problems with the values as they stand (shown as the user types). */
  check(values: JobFormValues): JobFormProblems;
  browse(field: string, values: JobFormValues): Promise<string | undefined>;
  /** Starts the job; the problems that stopped it otherwise. */
  start(values: JobFormValues): Promise<JobFormProblems | undefined>;
}

/** Only strings cross into a controller. */
function cleanValues(x: unknown): JobFormValues | undefined {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return undefined;
  const out: JobFormValues = {};
  for (const [k, v] of Object.entries(x as Record<string, unknown>)) if (typeof v === 'string' && v.length <= 4096) out[k] = v;
  return out;
}

export class JobFormPanel {
  private readonly endpoint: Endpoint<Record<string, never>, JobFormMethods, HostToJobFormEvents, JobFormEvents>;
  private disposed = false;
  /** Bumped per change, so a slow derivation for an older value does not land after a newer one. */
  private generation = 0;

  static open(context: vscode.ExtensionContext, controller: JobFormController): JobFormPanel {
    const panel = vscode.window.createWebviewPanel(JOB_FORM_VIEW, controller.spec.title, vscode.ViewColumn.Active, { enableScripts: true, retainContextWhenHidden: true });
    return new JobFormPanel(panel, context, controller);
  }

  private readonly host: PanelHost;

  private constructor(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, private readonly controller: JobFormController) {
    this.host = new PanelHost(panel, context.extensionUri, { script: 'job-form.js', stylesheet: 'job-form.css' }, {
      message: (m) => this.endpoint.receive(m),
      disposed: () => { this.disposed = true; this.endpoint.failAll(new Error('the form was closed')); },
    });
    this.endpoint = new Endpoint((m: Message) => this.host.post(m));

    this.endpoint.on('ready', () => {
      this.endpoint.emit('init', { spec: controller.spec, values: controller.values, notes: controller.notes ?? {} });
      const primary = controller.primaryField ?? 'model';
      if (controller.values[primary]) void this.changed(primary, controller.values);
    });
    this.endpoint.on('changed', (p) => {
      const values = cleanValues(p?.values);
      if (values && typeof p.field === 'string') void this.changed(p.field, values);
    });
    this.endpoint.handle('browse', async (p) => {
      const values = cleanValues(p?.values);
      if (!values || typeof p.field !== 'string') return {};
      const value = await controller.browse(p.field, values);
      return value === undefined ? {} : { value };
    });
    this.endpoint.handle('start', async (p) => {
      const values = cleanValues(p?.values);
      if (!values) return { started: false, problems: { fields: {}, form: 'the form sent no values' } };
      const problems = await controller.start(values);
      if (problems) return { started: false, problems };
      // The run panel takes over; the form's job is done.
      setTimeout(() => this.host.panel.dispose(), 0);
      return { started: true, problems: { fields: {} } };
    });
  }

  private async changed(field: string, values: JobFormValues): Promise<void> {
    const generation = ++this.generation;
    const derived = field ? await this.controller.derive?.(field, values).catch(() => undefined) : undefined;
    if (this.disposed || generation !== this.generation) return;
    // The page applies defaults only where the user has not typed, then reports its values
    // again (as a change of no field): the check waits for those.
    if (derived) this.endpoint.emit('defaults', derived);
    else this.endpoint.emit('problems', this.controller.check(values));
  }
}
