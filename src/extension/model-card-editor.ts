import * as path from 'node:path';
import * as vscode from 'vscode';
import { Endpoint, type HostToWebviewEvents, type Message, type WebviewEvents, type WebviewMethods, validSeq } from '../shared/protocol';
import type { WorkerClient } from './worker-client';
import { UserError } from '../core/errors';
import { showPage } from './webview-html';

export const MODEL_CARD_VIEW = 'compressionLab.modelCard';
/** `.bin` is generic, so the card is offered for it under its own view type with priority "option". */
export const MODEL_CARD_VIEW_BIN = 'compressionLab.modelCardBin';

class ModelDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

/** The read-only model card editor: the webview shows what the worker finds in the file. */
export class ModelCardEditorProvider implements vscode.CustomReadonlyEditorProvider<ModelDocument> {
  /** What each card was last sent (card or error), by file: read by the in-host test suite. */
  readonly lastSent = new Map<string, { type: 'card'; card: unknown } | { type: 'error'; problem: string }>();

  constructor(private readonly context: vscode.ExtensionContext, private readonly worker: WorkerClient, private readonly log: vscode.OutputChannel) {}

  openCustomDocument(uri: vscode.Uri): ModelDocument {
    return new ModelDocument(uri);
  }

  resolveCustomEditor(document: ModelDocument, panel: vscode.WebviewPanel): void {
    showPage(panel.webview, this.context.extensionUri, path.basename(document.uri.fsPath), 'webview.js', 'model-card.css');
    const card = new ModelCardSession(document.uri, panel.webview, this.worker, this.log, (sent) => this.lastSent.set(document.uri.toString(), sent));
    panel.onDidDispose(() => card.dispose());
  }
}

class ModelCardSession {
  private readonly endpoint: Endpoint<Record<string, never>, WebviewMethods, HostToWebviewEvents, WebviewEvents>;
  private readonly subscriptions: vscode.Disposable[] = [];
  private seq: number;
  private disposed = false;

  constructor(
    private readonly uri: vscode.Uri,
    private readonly webview: vscode.Webview,
    private readonly worker: WorkerClient,
    private readonly log: vscode.OutputChannel,
    private readonly onSent: (sent: { type: 'card'; card: unknown } | { type: 'error'; problem: string }) => void,
  ) {
    this.seq = vscode.workspace.getConfiguration('compressionLab').get<number>('inspect.sequenceLength', 128);
    this.endpoint = new Endpoint((m: Message) => { if (!this.disposed) void this.webview.postMessage(m); });
    this.subscriptions.push(webview.onDidReceiveMessage((m) => this.endpoint.receive(m)));
    this.endpoint.on('ready', () => void this.inspect());
    this.endpoint.on('reload', () => void this.inspect());
    this.endpoint.handle('flops', async (params) => {
      const seq = validSeq(params);
      if (seq === undefined) throw new Error('the sequence length must be a whole number from 1 to 1,000,000');
      this.seq = seq;
      return this.worker.request('flops', { path: this.uri.fsPath, seq });
    });
  }

  private async inspect(): Promise<void> {
    const file = this.uri.fsPath;
    if (this.uri.scheme !== 'file') {
      this.endpoint.emit('error', { file: this.uri.toString(), problem: 'only files on this machine can be inspected' });
      return;
    }
    this.endpoint.emit('progress', { message: `Reading ${path.basename(file)}` });
    const started = Date.now();
    try {
      const card = await this.worker.request('inspect', { path: file, seq: this.seq }, {
        onProgress: (message, fraction) => this.endpoint.emit('progress', { message, fraction }),
      });
      this.log.appendLine(`inspected ${file} in ${Date.now() - started} ms: ${card.family}, ${card.params.total} parameters`);
      this.endpoint.emit('card', { card, fileName: path.basename(file) });
      this.onSent({ type: 'card', card });
    } catch (e) {
      // A user error comes across the worker boundary with its file and problem apart.
      const problem = e instanceof UserError ? e.problem : (e as Error).message;
      this.log.appendLine(`could not inspect ${file}: ${problem}`);
      this.endpoint.emit('error', { file: e instanceof UserError && e.file ? e.file : file, problem });
      this.onSent({ type: 'error', problem });
    }
  }

  dispose(): void {
    this.disposed = true;
    this.endpoint.failAll(new Error('the model card was closed'));
    for (const s of this.subscriptions) s.dispose();
  }
}
