// npm run package [-- --target linux-x64]: a platform-specific VSIX carrying the production
// bundles and only that platform's onnxruntime binaries (no sources, tests or source maps).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const PLATFORMS = {
  'linux-x64': ['linux', 'x64'], 'linux-arm64': ['linux', 'arm64'], 'darwin-arm64': ['darwin', 'arm64'],
  'win32-x64': ['win32', 'x64'], 'win32-arm64': ['win32', 'arm64'],
};
const args = process.argv.slice(2);
const targetArg = args.indexOf('--target');
const target = targetArg >= 0 ? args[targetArg + 1] : `${process.platform}-${process.arch}`;
if (!PLATFORMS[target]) {
  console.error(`package: unknown target '${target}'; one of ${Object.keys(PLATFORMS).join(', ')}`);
  process.exit(2);
}
const [os, arch] = PLATFORMS[target];
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: root, stdio: 'inherit' });

// .vscodeignore says what the VSIX carries; only this platform's onnxruntime binaries are added.
const ignore = [
  ...readFileSync(path.join(root, '.vscodeignore'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')),
  `!node_modules/onnxruntime-node/bin/napi-v*/${os}/${arch}/**`,
];
const ignoreFile = path.join(tmpdir(), `mcl-vscodeignore-${target}`);
writeFileSync(ignoreFile, ignore.join('\n') + '\n');
const outDir = path.join(root, 'out');
mkdirSync(outDir, { recursive: true });
const out = path.join(outDir, `${pkg.name}-${target}-${pkg.version}.vsix`);
execFileSync(path.join(root, 'node_modules', '.bin', 'vsce'), [
  'package', '--target', target, '--ignoreFile', ignoreFile, '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--out', out,
], { cwd: root, stdio: 'inherit' });
const size = statSync(out).size;
console.log(`\n${path.relative(root, out)}: ${(size / 1024 / 1024).toFixed(1)} MB (${size} bytes) for ${target}`);
