// End-to-end harness: a real VS Code workbench (code-server 4.100.3 = VS Code 1.100.3 with a Node
// extension host) in a real browser (Debian's chromium driven by playwright-core), fully offline.
// Install the prerequisites first: `bash scripts/e2e/setup-code-server.sh` (cached, seconds on re-runs).
//
// Typical use in a node:test file:
//   describe('...', () => {
//     const { page, step } = useWorkbench({ name: 'x', vsix: builtVsix(), prepare: (ws) => ... });
//     step('does something', async () => { await openFileFromExplorer(page(), 'a/b.onnx'); ... });
//   });
// (useWorkbench is startCodeServer + launchBrowser + openWorkbench, with the cleanup.)
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Frame, type Locator, type Page } from 'playwright-core';
import { after, before, test } from 'node:test';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const CODE_SERVER_VERSION = '4.100.3';
export const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');
export const CHROMIUM_PATH = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

/** code-server's entry point, as installed by scripts/e2e/setup-code-server.sh (override: CODE_SERVER_ENTRY). */
export function codeServerEntry(): string {
  const entry =
    process.env.CODE_SERVER_ENTRY ??
    path.join(
      process.env.CODE_SERVER_CACHE ?? path.join(REPO_ROOT, '.cache', 'code-server'),
      CODE_SERVER_VERSION,
      'node_modules/code-server/out/node/entry.js',
    );
  if (!existsSync(entry)) {
    throw new Error(`code-server is not installed at ${entry}: run \`bash scripts/e2e/setup-code-server.sh\` first`);
  }
  return entry;
}

/** True when code-server and chromium are installed (lets a test file skip instead of fail). */
export function e2ePrerequisites(): { ok: boolean; reason?: string } {
  try {
    codeServerEntry();
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (!existsSync(CHROMIUM_PATH)) return { ok: false, reason: `${CHROMIUM_PATH} is missing: run scripts/e2e/setup-code-server.sh` };
  return { ok: true };
}

/** A fresh temporary directory (removed by the caller, or left for post-mortems). */
export function tempDir(prefix = 'mcl-e2e-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes files (relative path -> content) under dir, creating folders; returns dir. */
export function writeFiles(dir: string, files: Record<string, string | Buffer>): string {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Process-tree hygiene
// ---------------------------------------------------------------------------------------------

/** Every live descendant of pid (walks /proc; catches processes that left the group via setsid, e.g. terminals). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may contain spaces/parens, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); treat it as gone.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function signalTree(leader: number, pids: number[], signal: NodeJS.Signals): void {
  try {
    process.kill(-leader, signal); // the whole process group (spawned detached => leader's pid = pgid)
  } catch {
    /* group already gone */
  }
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      /* gone */
    }
  }
}

/** SIGTERM the group and every descendant, wait up to graceMs, then SIGKILL what is left. */
export async function killTree(leader: number, graceMs = 5000): Promise<void> {
  const pids = [leader, ...processTree(leader)];
  signalTree(leader, pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(isAlive)) await sleep(100);
  const left = [...new Set([...pids, ...processTree(leader)])].filter(isAlive);
  if (left.length) signalTree(leader, left, 'SIGKILL');
  const hard = Date.now() + 2000;
  while (Date.now() < hard && left.some(isAlive)) await sleep(50);
}

// Last-resort cleanup if a test file dies without running its after() hooks.
const liveLeaders = new Set<number>();
let exitHooksInstalled = false;
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAllSync = () => {
    for (const leader of liveLeaders) signalTree(leader, [leader, ...processTree(leader)], 'SIGKILL');
    liveLeaders.clear();
  };
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllSync();
      process.kill(process.pid, sig); // re-raise with the default action
    });
  }
}

/**
 * For when this process is SIGKILLed (CI timeouts) and no hook runs: a detached sentinel holding
 * a pipe from us; when the pipe closes (we died), it kills code-server's group. stop() kills it first.
 */
function startWatchdog(leader: number): ChildProcess {
  const code = `process.stdin.on('end', () => { try { process.kill(-${leader}, 'SIGKILL'); } catch {} process.exit(0); });
process.stdin.resume();`;
  const dog = spawn(process.execPath, ['-e', code], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void }).unref?.();
  return dog;
}

// ---------------------------------------------------------------------------------------------
// code-server
// ---------------------------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Settings that keep a fresh workbench quiet and deterministic. Callers can add or override any. */
export const DEFAULT_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.commandCenter.enabled': false,
  'git.enabled': false,
  'files.hotExit': 'off',
  'window.restoreWindows': 'none',
  'editor.minimap.enabled': false,
};

export interface CodeServerOptions {
  /** Folder opened in the workbench (also passed as code-server's positional argument). */
  workspace: string;
  extensionsDir: string;
  userDataDir: string;
  /** A .vsix (or several) installed with --install-extension before the server starts. */
  vsix?: string | string[];
  /** Merged over DEFAULT_SETTINGS into <userDataDir>/User/settings.json. */
  settings?: Record<string, unknown>;
  /** Extra code-server arguments. */
  args?: string[];
  /** Extra environment for code-server (and so the extension host). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for HTTP readiness (default 60 s). */
  timeoutMs?: number;
}

export interface CodeServer {
  url: string;
  port: number;
  pid: number;
  /** code-server's stdout+stderr. */
  logFile: string;
  /** Kills code-server and every process it started; idempotent. */
  stop(): Promise<void>;
}

/** The environment code-server runs with: no VS Code IPC leaking in from a surrounding VS Code, XDG dirs kept out of $HOME. */
function codeServerEnv(stateDir: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Inside a VS Code terminal, VSCODE_IPC_HOOK_CLI would make code-server forward its CLI to that VS Code.
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  env.XDG_CONFIG_HOME = path.join(stateDir, 'xdg-config');
  env.XDG_DATA_HOME = path.join(stateDir, 'xdg-data');
  env.XDG_CACHE_HOME = path.join(stateDir, 'xdg-cache');
  return { ...env, ...extra };
}

function runToCompletion(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed: ${err.message}\n${out}`));
      else resolve(out);
    });
  });
}

/** Starts code-server on a free 127.0.0.1 port and waits until it answers HTTP. */
export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  const entry = codeServerEntry();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  for (const d of [opts.extensionsDir, opts.userDataDir]) mkdirSync(d, { recursive: true });
  const stateDir = path.join(opts.userDataDir, '.harness');
  mkdirSync(stateDir, { recursive: true });
  const env = codeServerEnv(stateDir, opts.env);
  const configFile = path.join(stateDir, 'config.yaml');
  writeFileSync(configFile, 'auth: none\ncert: false\n');

  // Pre-seed user settings (code-server keeps them server-side, under the user-data-dir).
  const settingsFile = path.join(opts.userDataDir, 'User', 'settings.json');
  mkdirSync(path.dirname(settingsFile), { recursive: true });
  let existing: Record<string, unknown> = {};
  if (existsSync(settingsFile)) {
    try {
      existing = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    } catch {
      /* not plain JSON (comments): overwrite */
    }
  }
  writeFileSync(settingsFile, JSON.stringify({ ...DEFAULT_SETTINGS, ...existing, ...opts.settings }, null, 2));

  const common = ['--config', configFile, '--extensions-dir', opts.extensionsDir, '--user-data-dir', opts.userDataDir];
  const vsixes = opts.vsix === undefined ? [] : Array.isArray(opts.vsix) ? opts.vsix : [opts.vsix];
  for (const vsix of vsixes) {
    const out = await runToCompletion(process.execPath, [entry, ...common, '--force', '--install-extension', path.resolve(vsix)], env, 120_000);
    if (!/successfully installed|already installed/i.test(out)) {
      throw new Error(`installing ${vsix} did not report success:\n${out}`);
    }
  }

  const logFile = path.join(stateDir, 'code-server.log');
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = [
      entry,
      ...common,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      ...(opts.args ?? []),
      opts.workspace,
    ];
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`\n--- ${new Date().toISOString()} node ${args.join(' ')}\n`);
    // detached: code-server leads its own process group, so stop() can signal the whole tree.
    const child: ChildProcess = spawn(process.execPath, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid!;
    liveLeaders.add(pid);
    installExitHooks();
    const watchdog = startWatchdog(pid);
    let tail = '';
    const onData = (b: Buffer) => {
      log.write(b);
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let exited: { code: number | null; signal: string | null } | undefined;
    child.on('exit', (code, signal) => (exited = { code, signal }));

    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      watchdog.kill('SIGKILL');
      await killTree(pid);
      liveLeaders.delete(pid);
      child.stdout?.destroy();
      child.stderr?.destroy();
      await new Promise<void>((r) => log.end(r));
    };

    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    let ready = false;
    while (!exited && Date.now() < deadline) {
      if ((await httpStatus(`${url}/healthz`)) === 200) {
        ready = true;
        break;
      }
      await sleep(200);
    }
    if (ready) return { url, port, pid, logFile, stop };
    await stop();
    lastError = new Error(
      exited
        ? `code-server exited early (code ${exited.code}, signal ${exited.signal}):\n${tail}`
        : `code-server did not answer on ${url} within ${timeoutMs} ms:\n${tail}`,
    );
    if (!/EADDRINUSE/.test(tail)) break; // only a lost port race is worth retrying
  }
  throw lastError!;
}

// ---------------------------------------------------------------------------------------------
// Browser
// ---------------------------------------------------------------------------------------------

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--disable-breakpad',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  userDataDir: string;
  /** The last console lines of the page and its frames (webviews included), oldest first. */
  consoleTail(): string[];
  close(): Promise<void>;
}

const CONSOLE_KEPT = 200;

/** Headless Debian chromium with a fresh profile and a 1280x800 viewport. */
export async function launchBrowser(opts: { headless?: boolean; viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const userDataDir = tempDir('mcl-e2e-chromium-');
  const context = await chromium.launchPersistentContext(path.join(userDataDir, 'profile'), {
    executablePath: CHROMIUM_PATH,
    // Chromium keeps its crash database under $XDG_CONFIG_HOME/chromium* whatever the profile dir: keep it out of $HOME.
    env: { ...process.env, XDG_CONFIG_HOME: path.join(userDataDir, 'xdg-config'), XDG_CACHE_HOME: path.join(userDataDir, 'xdg-cache') },
    headless: opts.headless ?? process.env.E2E_HEADED !== '1',
    args: CHROMIUM_ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // Kept for a failed step's report: a webview that never loads says why only here.
  const lines: string[] = [];
  page.on('console', (m) => {
    lines.push(`${new Date().toISOString()} ${m.type()} ${m.location().url.replace(/\?.*$/, '')}: ${m.text()}`);
    if (lines.length > CONSOLE_KEPT) lines.shift();
  });
  let closed = false;
  return {
    context,
    page,
    userDataDir,
    consoleTail: () => [...lines],
    close: async () => {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Workbench helpers (selectors verified against VS Code 1.100 / code-server 4.100.3)
// ---------------------------------------------------------------------------------------------

const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = '.quick-input-widget .quick-input-box input';
const QUICK_INPUT_ROWS = '.quick-input-widget .quick-input-list .monaco-list-row';

/**
 * Opens `url/?folder=folder` and waits for the workbench: `.monaco-workbench`, status bar, editor
 * area and (unless waitForExplorer is false, e.g. when settings hide the sidebar) the explorer tree.
 * Built-in extensions may still be registering when this returns; the quick-pick helpers cope.
 */
export async function openWorkbench(
  page: Page,
  url: string,
  folder: string,
  opts: { timeoutMs?: number; waitForExplorer?: boolean } = {},
): Promise<void> {
  const timeout = opts.timeoutMs ?? 60_000;
  await page.goto(`${url}/?folder=${encodeURIComponent(folder)}`, { waitUntil: 'domcontentloaded', timeout });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout });
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout });
  await page.locator('.monaco-workbench .part.editor').waitFor({ state: 'visible', timeout });
  if (opts.waitForExplorer !== false) {
    await page.locator('.explorer-folders-view .monaco-list').first().waitFor({ state: 'attached', timeout });
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The quick-input row for `label`: its visible label is exactly `label`, or `label` is one of the
 * comma-separated parts of its aria-label. Command rows read "Preferences: Color Theme, Control+K
 * Control+T, recently used"; theme rows show "Dark Modern" with aria-label "Dark Modern, Default
 * Dark Modern" (the settings name is the second part).
 */
function quickPickRow(page: Page, label: string): Locator {
  const rows = page.locator(QUICK_INPUT_ROWS);
  const byName = rows.filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) });
  const byAria = rows.and(page.getByLabel(new RegExp(`(^|, )${escapeRegExp(label)}(,|$)`)));
  return byName.or(byAria).first();
}

async function openQuickInput(page: Page, key: string, timeoutMs: number): Promise<void> {
  // Make sure keystrokes reach the workbench and not a stale quick input.
  if (await page.locator(QUICK_INPUT).isVisible()) {
    await page.keyboard.press('Escape');
    await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: timeoutMs });
  }
  await page.keyboard.press(key);
  try {
    await page.locator(QUICK_INPUT_BOX).waitFor({ state: 'visible', timeout: Math.min(5000, timeoutMs) });
  } catch {
    // A focused webview can keep the key (seen in CI: F1 after a click in the comparison panel
    // opened nothing for 30 s). Give the workbench the focus with a click on the side bar's
    // title, which does nothing else, and press again.
    const title = page.locator('.monaco-workbench .part.sidebar .composite.title').first();
    if (await title.isVisible()) await title.click({ position: { x: 5, y: 5 } });
    else await page.locator('.monaco-workbench .part.editor').first().focus();
    await page.keyboard.press(key);
    await page.locator(QUICK_INPUT_BOX).waitFor({ state: 'visible', timeout: timeoutMs });
  }
}

/**
 * Opens a quick pick (`open`), types `text` and accepts the row whose label is exactly `label`.
 * A quick pick lists what is registered when it opens and does not refresh: right after the
 * workbench appears, built-in extensions (themes, contributed commands) may not be registered
 * yet. So a pick whose row does not show within a few seconds is closed and reopened.
 */
async function pick(page: Page, open: () => Promise<void>, text: string, label: string, timeoutMs: number, row?: Locator): Promise<void> {
  const target = row ?? quickPickRow(page, label);
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await open();
      await page.locator(QUICK_INPUT_BOX).fill(text, { timeout: 5000 });
    } catch (e) {
      // A webview that finishes loading takes the focus, which closes a quick input: open it again.
      if (Date.now() >= deadline) throw e;
      continue;
    }
    const wait = Math.max(1000, Math.min(5000 * attempt, deadline - Date.now()));
    try {
      await target.first().waitFor({ state: 'visible', timeout: wait });
    } catch (e) {
      if (Date.now() >= deadline) {
        const shown = await page.locator(QUICK_INPUT_ROWS).evaluateAll((rs) => rs.map((r) => r.getAttribute('aria-label')));
        throw new Error(`quick pick: no row "${label}" for input "${text}" within ${timeoutMs} ms; rows: ${JSON.stringify(shown)}`, { cause: e });
      }
      await page.keyboard.press('Escape');
      continue;
    }
    // Enter into a closed quick input would reach whatever took the focus: only while it shows.
    if (!(await page.locator(QUICK_INPUT).isVisible())) continue;
    try {
      if ((await target.first().getAttribute('class'))?.includes('focused')) await page.keyboard.press('Enter');
      else await target.first().click({ timeout: 5000 });
    } catch (e) {
      if (Date.now() >= deadline) throw e;
      continue;
    }
    return;
  }
}

/**
 * Runs a command by its palette title, e.g. 'View: Toggle Word Wrap' (F1, type, accept the row
 * with exactly that title). Retries while the command is not listed yet (see pick()).
 */
export async function runCommand(page: Page, title: string, timeoutMs = 30_000): Promise<void> {
  await pick(page, () => openQuickInput(page, 'F1', timeoutMs), `>${title}`, title, timeoutMs);
}

/** Opens a workspace file via Quick Open (Ctrl+P), which uses the file search (ripgrep). */
export async function openFileQuick(page: Page, relPath: string, timeoutMs = 30_000): Promise<void> {
  const base = path.posix.basename(relPath);
  const dir = path.posix.dirname(relPath);
  let row = quickPickRow(page, base);
  if (dir !== '.') row = row.filter({ has: page.locator('.label-description', { hasText: dir }) });
  await pick(page, () => openQuickInput(page, 'Control+P', timeoutMs), relPath, relPath, timeoutMs, row);
  await waitForEditorTab(page, base, timeoutMs);
}

/** The explorer row for the item at depth `level` (1 = top level) with this name. */
function explorerRow(page: Page, name: string, level: number): Locator {
  return page.locator(`.explorer-folders-view .monaco-list-row[aria-level="${level}"]`).filter({
    has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(name)}\\s*$`) }),
  });
}

/**
 * Reveals the explorer, expands each folder of relPath by clicking it, and returns the row of its
 * last part (several folders may hold a file of one name: it is the one inside the right folder).
 * Rows move while this runs when a file or folder appears above them (a job's output, the
 * workspace's .compression-lab folder), so every look at the tree is a fresh one, and the row
 * returned is found by its name and depth when those are unique, not by its position.
 */
export async function revealInExplorer(page: Page, relPath: string, timeoutMs = 20_000): Promise<Locator> {
  if (!(await page.locator('.explorer-folders-view').isVisible())) await runCommand(page, 'View: Show Explorer', timeoutMs);
  const parts = relPath.split('/').filter(Boolean);
  const deadline = Date.now() + timeoutMs;
  // Rows are virtualised, so DOM order is not display order: go by the list's row indices.
  const rowsNow = async () => (await page.locator('.explorer-folders-view .monaco-list-row').evaluateAll((els) =>
    els.map((el) => ({
      index: Number(el.getAttribute('data-index')), level: Number(el.getAttribute('aria-level')),
      name: el.querySelector('.label-name')?.textContent?.trim() ?? '', expanded: el.getAttribute('aria-expanded') === 'true',
    })))).sort((a, b) => a.index - b.index);
  type Row = Awaited<ReturnType<typeof rowsNow>>[number];
  /** The row of parts[0..depth], each inside the one before; undefined while not all are rendered. */
  const rowOf = (rows: Row[], depth: number): Row | undefined => {
    let parent: Row | undefined;
    for (let i = 0; i <= depth; i++) {
      let found: Row | undefined;
      for (const r of rows) {
        if (parent && r.index <= parent.index) continue;
        if (i > 0 && r.level <= i) break;
        if (r.level === i + 1 && r.name === parts[i]) { found = r; break; }
      }
      if (!found) return undefined;
      parent = found;
    }
    return parent;
  };
  const byIndex = (r: Row) => page.locator(`.explorer-folders-view .monaco-list-row[data-index="${r.index}"]`)
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(r.name)}\\s*$`) }) });
  for (let i = 0; i < parts.length; i++) {
    for (;;) {
      const rows = await rowsNow();
      const r = rowOf(rows, i);
      if (r && i === parts.length - 1) {
        const unique = rows.filter((x) => x.level === r.level && x.name === r.name).length === 1;
        return unique ? explorerRow(page, r.name, r.level).first() : byIndex(r);
      }
      if (r?.expanded) break;
      if (Date.now() > deadline) throw new Error(`explorer: no '${parts[i]}' under '${parts.slice(0, i).join('/') || 'the workspace'}'${r ? ' that expands' : ''}`);
      // A folder just expanded may not have rendered its children yet: look again until it has.
      if (!r) { await page.waitForTimeout(100); continue; }
      await byIndex(r).click({ timeout: 2000 }).catch(() => undefined);
      // A second click would fold it again: give the first time to show.
      for (const until = Date.now() + 2000; Date.now() < until && !rowOf(await rowsNow(), i)?.expanded;) await page.waitForTimeout(100);
    }
  }
  throw new Error(`explorer: nothing to reveal in '${relPath}'`);
}

/** Opens a file from the explorer (double-click on its row). */
export async function openFileFromExplorer(page: Page, relPath: string, timeoutMs = 20_000): Promise<void> {
  const row = await revealInExplorer(page, relPath, timeoutMs);
  await row.dblclick();
  await waitForEditorTab(page, path.posix.basename(relPath), timeoutMs);
}

/** Waits until an editor tab for a file with this base name is the active one. */
export async function waitForEditorTab(page: Page, baseName: string, timeoutMs = 20_000): Promise<void> {
  await page
    .locator(`.part.editor .tabs-container .tab.active[data-resource-name="${baseName}"]`)
    .first()
    .waitFor({ state: 'visible', timeout: timeoutMs });
}

/** The text of the active editor's visible lines (Monaco renders lines as .view-line; nbsp normalised). */
export async function activeEditorText(page: Page): Promise<string> {
  const editor = page.locator('.part.editor .editor-group-container.active .monaco-editor .view-lines').first();
  await editor.waitFor({ state: 'visible' });
  return editor.evaluate((el) =>
    [...el.querySelectorAll('.view-line')]
      .map((l) => ({ top: parseFloat((l as HTMLElement).style.top || '0'), text: (l.textContent ?? '').replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text)
      .join('\n'),
  );
}

export type FramePredicate = ((frame: Frame) => boolean | Promise<boolean>) | RegExp | string;

/**
 * A webview's content frame. VS Code renders each webview as an outer `iframe.webview` (the host
 * page, index.html) with an inner `iframe#active-frame` holding the extension's HTML. Returns the
 * first inner frame matching `predicate`: a function, a RegExp tested against body text, or a CSS
 * selector that must exist in the frame. Polls until timeoutMs.
 */
export async function findWebviewFrame(page: Page, predicate: FramePredicate, timeoutMs = 30_000): Promise<Frame> {
  const matches = async (frame: Frame): Promise<boolean> => {
    if (typeof predicate === 'function') return predicate(frame);
    if (typeof predicate === 'string') return (await frame.$(predicate)) !== null;
    const text = await frame.evaluate(() => document.body?.innerText ?? '');
    return predicate.test(text);
  };
  const deadline = Date.now() + timeoutMs;
  while (true) {
    for (const frame of page.frames()) {
      if (frame.isDetached() || !frame.parentFrame()) continue;
      try {
        const el = await frame.frameElement();
        const isInner = (await el.getAttribute('id')) === 'active-frame';
        await el.dispose();
        if (isInner && (await matches(frame))) return frame;
      } catch {
        /* frame navigated or detached while we looked: try again next round */
      }
    }
    if (Date.now() > deadline) {
      const urls = page.frames().map((f) => f.url());
      throw new Error(`no webview frame matched within ${timeoutMs} ms; frames:\n  ${urls.join('\n  ')}`);
    }
    await sleep(250);
  }
}

/** Saves a full-page PNG to test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Runs fn; if it throws, saves test-results/FAILED-<name>.png first (best effort) and rethrows. */
export async function withFailureScreenshot<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    await screenshot(page, `FAILED-${name}`).catch(() => undefined);
    throw e;
  }
}

/** The workbench's theme type class ('vs', 'vs-dark', 'hc-black' or 'hc-light'). */
export async function themeType(page: Page): Promise<string> {
  return page.locator('.monaco-workbench').first().evaluate((el) => {
    const known = ['vs', 'vs-dark', 'hc-black', 'hc-light'];
    return [...el.classList].find((c) => known.includes(c)) ?? '';
  });
}

/** The workbench's theme id class, e.g. 'vscode-theme-defaults-themes-dark_modern-json'. */
export async function themeIdClass(page: Page): Promise<string> {
  return page.locator('.monaco-workbench').first().evaluate((el) => [...el.classList].find((c) => c.startsWith('vscode-theme-')) ?? '');
}

/**
 * Switches the color theme through "Preferences: Color Theme" and waits until the workbench is of
 * `wantType` ('vs-dark', ...). Judged by the outcome, and chosen again if it did not take: the
 * picker previews the rows it passes, and once the smoke test read 'vs' right after a dark pick.
 */
export async function setColorTheme(page: Page, theme: string, wantType: string, timeoutMs = 30_000): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await pick(page, () => runCommand(page, 'Preferences: Color Theme', timeoutMs), theme, theme, timeoutMs);
    await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: timeoutMs });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if ((await themeType(page)) === wantType) return;
      await sleep(100);
    }
    if (attempt === 3) throw new Error(`the workbench is ${await themeType(page)}, not ${wantType}, after choosing "${theme}" ${attempt} times`);
  }
}

/**
 * Waits until an extension's contributions are loaded: its command is listed in the palette.
 * Files opened before that open in the default editor, not the extension's custom editor.
 */
export async function waitForCommand(page: Page, title: string, timeoutMs = 60_000): Promise<void> {
  const row = quickPickRow(page, title);
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await openQuickInput(page, 'F1', timeoutMs);
      await page.locator(QUICK_INPUT_BOX).fill(`>${title}`, { timeout: 5000 });
    } catch (e) {
      // Closed by a webview taking the focus as it loads (a panel restored after a reload): again.
      if (Date.now() >= deadline) throw e;
      continue;
    }
    try {
      await row.first().waitFor({ state: 'visible', timeout: Math.max(1000, Math.min(3000 * attempt, deadline - Date.now())) });
      await page.keyboard.press('Escape');
      return;
    } catch (e) {
      await page.keyboard.press('Escape');
      if (Date.now() >= deadline) throw new Error(`command '${title}' not listed within ${timeoutMs} ms: is the extension installed?`, { cause: e });
    }
  }
}

/** Polls `check` (an error counts as false) until it holds, or fails naming `what`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Clicks Start and waits for the form to close (the run panel takes over). Twice in full-suite
 * runs under load the click was not taken (no problem shown, the button idle, nothing started);
 * then the state is printed and the button is pressed from the keyboard once, so a real failure
 * to start still fails here and a lost click is visible in the output.
 */
export async function startFromForm(f: Frame): Promise<void> {
  await f.locator('[data-testid="start-button"]').click();
  try {
    await waitFor('the form to close', async () => f.isDetached(), 10_000);
    return;
  } catch {
    const state = await f.evaluate(() => ({
      button: document.querySelector('[data-testid="start-button"]')?.textContent,
      problem: document.querySelector('[data-testid="form-problem"]')?.textContent,
      summary: document.querySelector('[data-testid="form-summary"]')?.textContent,
    })).catch(() => 'the form closed meanwhile');
    console.log(`# the Start click was not taken within 10 s: ${JSON.stringify(state)}; pressing Enter on the button`);
  }
  if (!f.isDetached()) await f.locator('[data-testid="start-button"]').press('Enter');
  await waitFor('the form to close', async () => f.isDetached(), 30_000);
}

/**
 * Reloads the window as a user does, with Developer: Reload Window: the workbench saves its editors
 * and the webviews' states before it goes. A browser reload may leave before that save lands, and
 * the window then comes back as it was at some earlier save (seen in CI: the panel under test was
 * not among the restored editors). Returns once `readyCommand` is listed again.
 */
export async function reloadWindow(page: Page, readyCommand: string): Promise<void> {
  const reloaded = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 60_000 });
  await runCommand(page, 'Developer: Reload Window');
  await reloaded;
  await page.locator('.monaco-workbench .part.editor').waitFor({ state: 'visible', timeout: 90_000 });
  await waitForCommand(page, readyCommand);
}

/**
 * Types a path into VS Code's own file dialog (the browser's simple dialog, a quick input that
 * completes as one types) and accepts it once the value has settled on exactly that path.
 */
export async function acceptPathInFileDialog(page: Page, target: string, timeoutMs = 20_000): Promise<void> {
  const input = page.locator(QUICK_INPUT_BOX);
  await input.waitFor({ state: 'visible', timeout: timeoutMs });
  for (let attempt = 1; ; attempt++) {
    await input.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(target, { delay: 15 });
    // The dialog rewrites the value as it lists folders: wait until it stops changing.
    let last = '';
    let stableSince = Date.now();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const v = await input.inputValue();
      if (v !== last) { last = v; stableSince = Date.now(); }
      else if (Date.now() - stableSince > 800) break;
      await page.waitForTimeout(100);
    }
    if (last === target) {
      await page.keyboard.press('Enter');
      await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: timeoutMs });
      return;
    }
    if (attempt >= 3) throw new Error(`file dialog: the value settled on '${last}', not '${target}'`);
  }
}

/** The corpus of shared BERT-family model folders (read in place, copied into test workspaces). */
export const BERT_FAMILY = path.resolve(REPO_ROOT, '../shared/corpus/bert-family');

/** The packaged linux-x64 VSIX the e2e tests install (`npm run package -- --target linux-x64`). */
export function builtVsix(): string {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const file = path.join(REPO_ROOT, 'out', `${pkg.name}-linux-x64-${pkg.version}.vsix`);
  if (!existsSync(file)) throw new Error(`${file} is not built: npm run package -- --target linux-x64`);
  return file;
}

export interface WorkbenchSuiteOptions {
  /** Temp folder prefix and screenshot prefix of failed steps, e.g. 'model-card'. */
  name: string;
  /** Fills the (empty) workspace folder before code-server starts. */
  prepare(workspace: string): void;
  settings?: Record<string, unknown>;
  /** Installs this VSIX, then waits until `readyCommand` is listed (its contributions are in). */
  vsix?: string;
  readyCommand?: string;
  stepTimeoutMs?: number;
}

export interface WorkbenchSuite {
  page(): Page;
  workspace(): string;
  server(): CodeServer;
  browser(): Browser;
  /** A test that saves a screenshot when it fails (and keeps the temp folder for a look). */
  step(name: string, fn: () => Promise<void>): void;
}

/**
 * The before/after of a workbench suite, for use inside describe(): a temp workspace, code-server
 * (with the VSIX when given), a browser on the workbench; afterwards everything stopped, and the
 * temp folder removed unless a step failed (or E2E_KEEP=1).
 */
export function useWorkbench(o: WorkbenchSuiteOptions): WorkbenchSuite {
  let root = '';
  let workspace = '';
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let failed = false;
  before(async () => {
    root = tempDir(`mcl-e2e-${o.name}-`);
    workspace = path.join(root, 'workspace');
    mkdirSync(workspace, { recursive: true });
    o.prepare(workspace);
    const t0 = Date.now();
    server = await startCodeServer({
      workspace, extensionsDir: path.join(root, 'extensions'), userDataDir: path.join(root, 'user-data'),
      vsix: o.vsix, settings: o.settings, timeoutMs: 90_000,
    });
    browser = await launchBrowser();
    await openWorkbench(browser.page, server.url, workspace, { timeoutMs: 90_000 });
    // Until an extension's contributions are in, its files open in the default editor.
    if (o.readyCommand) await waitForCommand(browser.page, o.readyCommand);
    console.log(`# workbench ready in ${Date.now() - t0} ms at ${server.url} (log: ${server.logFile})`);
  }, { timeout: 200_000 });
  after(async () => {
    if (failed && browser) console.log(`# browser console tail:\n${browser.consoleTail().slice(-60).join('\n')}`);
    await browser?.close();
    await server?.stop();
    if (failed && server) console.log(`# code-server log tail (${server.logFile}):\n${readFileSync(server.logFile, 'utf8').slice(-3000)}`);
    if (root && !failed && process.env.E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
    else if (root) console.log(`# kept ${root}`);
  });
  return {
    page: () => browser!.page,
    workspace: () => workspace,
    server: () => server!,
    browser: () => browser!,
    step: (name, fn) => {
      test(name, { timeout: o.stepTimeoutMs ?? 120_000 }, async () => {
        try { await withFailureScreenshot(browser!.page, `${o.name}-${name}`, fn); } catch (e) { failed = true; throw e; }
      });
    },
  };
}
