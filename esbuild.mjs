// Bundles each entry point on its own: the CLI and worker for Node, the extension host for
// VS Code (vscode stays external), the webview for the browser. onnxruntime-node stays external:
// it loads native binaries relative to its own package.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external: ['vscode', 'onnxruntime-node'],
  logLevel: 'info',
};

const builds = [
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
];
if (existsSync('src/extension/extension.ts')) builds.push({ ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' });
if (existsSync('src/worker/worker.ts')) builds.push({ ...node, entryPoints: ['src/worker/worker.ts'], outfile: 'dist/worker.js' });
const browser = { bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: !production, minify: production, logLevel: 'info' };
if (existsSync('webview/main.ts')) builds.push({ ...browser, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js' });
if (existsSync('webview/compare/main.ts')) builds.push({ ...browser, entryPoints: ['webview/compare/main.ts'], outfile: 'dist/compare.js' });
if (existsSync('webview/job-form/main.ts')) builds.push({ ...browser, entryPoints: ['webview/job-form/main.ts'], outfile: 'dist/job-form.js' });
if (existsSync('webview/report/main.ts')) builds.push({ ...browser, entryPoints: ['webview/report/main.ts'], outfile: 'dist/report.js' });
if (existsSync('webview/run/main.ts')) builds.push({ ...browser, entryPoints: ['webview/run/main.ts'], outfile: 'dist/run.js' });

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
