/**
 * Notices a webview page that never starts. In a browser VS Code (code-server, vscode.dev) a new
 * webview's frame waits for its service worker to take control, and Chromium sometimes never
 * signals it: the panel then stays blank for good, whatever HTML is set again. Only a new panel
 * (a new frame, a new registration) gets past it, so when a visible panel has not heard from its
 * page within the time, `reopen` is asked to replace it, a bounded number of times.
 *
 * The clock runs only while the panel is in sight: VS Code may not build a hidden panel's frame,
 * and a window in the background may load late. Only the first load is watched.
 */
export interface LoadWatchdogOptions {
  timeoutMs: number;
  maxReopens: number;
  /** Replace the panel with a fresh one; called with the attempt's number (1, 2, ...). */
  reopen(attempt: number): void;
  /** Every reopen was spent and the page is still silent. */
  giveUp?(): void;
}

export class LoadWatchdog {
  private timer?: ReturnType<typeof setTimeout>;
  private heardFrom = false;
  private stopped = false;
  private reopens = 0;
  private isVisible = false;

  constructor(private readonly o: LoadWatchdogOptions) {}

  /** The panel (after a reopen, the one that replaced it) is in sight of the user, or not. */
  visible(shown: boolean): void {
    this.isVisible = shown;
    if (!shown) this.clear();
    else this.arm();
  }

  /** The page sent a message: it runs, and stays watched no more. */
  heard(): void {
    this.heardFrom = true;
    this.clear();
  }

  get attempts(): number {
    return this.reopens;
  }

  dispose(): void {
    this.stopped = true;
    this.clear();
  }

  private arm(): void {
    if (this.timer || this.heardFrom || this.stopped || !this.isVisible) return;
    this.timer = setTimeout(() => this.fire(), this.o.timeoutMs);
  }

  private fire(): void {
    this.timer = undefined;
    if (this.heardFrom || this.stopped || !this.isVisible) return;
    if (this.reopens >= this.o.maxReopens) {
      this.stopped = true;
      this.o.giveUp?.();
      return;
    }
    this.reopens++;
    try {
      this.o.reopen(this.reopens);
    } catch {
      // No new panel could be made: nothing more to try.
      this.stopped = true;
      this.o.giveUp?.();
    }
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
