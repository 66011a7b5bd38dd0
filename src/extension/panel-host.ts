import * as vscode from 'vscode';
import type { Message } from '../shared/protocol';
import { LoadWatchdog } from './load-watchdog';
import { showPage } from './webview-html';

/** Long enough for a page on a busy 2-core machine (about 1 s when idle); short enough to notice. */
export const PAGE_LOAD_TIMEOUT_MS = 15_000;
const MAX_REOPENS = 2;

export interface PanelPage {
  script: string;
  stylesheet: string;
}

export interface PanelHostEvents {
  /** A message from the page (not yet checked: the endpoint does that). */
  message(m: unknown): void;
  /** The user (or the extension) closed the panel. */
  disposed(): void;
}

/**
 * One webview panel of ours: its page, the messages both ways, and the load watchdog. When the
 * page never starts (see LoadWatchdog) the panel is replaced by a fresh one in the same place,
 * and the owner, which only ever talks through this host, does not notice.
 */
export class PanelHost {
  private current: vscode.WebviewPanel;
  private subs: vscode.Disposable[] = [];
  private closed = false;
  private readonly watchdog: LoadWatchdog;
  private readonly windowSub: vscode.Disposable;

  constructor(panel: vscode.WebviewPanel, private readonly extensionUri: vscode.Uri, private readonly page: PanelPage, private readonly events: PanelHostEvents) {
    this.current = panel;
    this.watchdog = new LoadWatchdog({
      timeoutMs: PAGE_LOAD_TIMEOUT_MS,
      maxReopens: MAX_REOPENS,
      reopen: () => this.reopen(),
      giveUp: () => void vscode.window.showWarningMessage(`The panel "${this.current.title}" may not have loaded. If it stays blank, reload the window (Developer: Reload Window).`),
    });
    // A window in the background, or a browser tab the user left, may load late: no clock then.
    this.windowSub = vscode.window.onDidChangeWindowState(() => this.watchdog.visible(this.shown(this.current)));
    this.bind(panel);
  }

  private shown(panel: vscode.WebviewPanel): boolean {
    return panel.visible && vscode.window.state.focused;
  }

  get panel(): vscode.WebviewPanel {
    return this.current;
  }

  post(m: Message): void {
    if (!this.closed) void this.current.webview.postMessage(m);
  }

  private bind(panel: vscode.WebviewPanel): void {
    showPage(panel.webview, this.extensionUri, panel.title, this.page.script, this.page.stylesheet);
    this.subs = [
      panel.webview.onDidReceiveMessage((m) => {
        this.watchdog.heard();
        this.events.message(m);
      }),
      panel.onDidChangeViewState((e) => this.watchdog.visible(this.shown(e.webviewPanel))),
      panel.onDidDispose(() => {
        if (panel !== this.current) return;
        this.closed = true;
        this.watchdog.dispose();
        this.windowSub.dispose();
        for (const s of this.subs) s.dispose();
        this.events.disposed();
      }),
    ];
    this.watchdog.visible(this.shown(panel));
  }

  private reopen(): void {
    const old = this.current;
    const next = vscode.window.createWebviewPanel(old.viewType, old.title, { viewColumn: old.viewColumn ?? vscode.ViewColumn.Active, preserveFocus: !old.active }, { ...old.options, enableScripts: true });
    next.iconPath = old.iconPath;
    for (const s of this.subs) s.dispose();
    this.current = next;
    this.bind(next);
    old.dispose();
  }
}
