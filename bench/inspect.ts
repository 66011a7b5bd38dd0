// npm run bench:inspect — inspect a bert-base-sized ONNX model against reading the whole file,
// interleaved in one run; prints both, the ratio and the inspector's peak RSS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import * as path from 'node:path';
import { buildEncoderClassifier } from '../src/core/onnx/bert-builder';
import { writeModel } from '../src/core/onnx/onnx-writer';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-bench-inspect-'));
const file = path.join(dir, 'bert-base.onnx');
const small = path.join(dir, 'small.onnx');
type Sample = { ms: number; loadMs: number; maxRssMb: number };

try {
  const t0 = Date.now();
  writeModel(file, buildEncoderClassifier({ family: 'bert', vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512, numLabels: 2 }));
  writeModel(small, buildEncoderClassifier({ family: 'bert', vocabSize: 1000, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 256, maxPositions: 128, numLabels: 2 }));
  const bytes = statSync(file).size;
  console.log(`built a bert-base-sized model with the graph builder: ${(bytes / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const run = (...args: string[]): Sample => JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'inspect-child.js'), ...args], { encoding: 'utf8' }));
  // One unmeasured pass puts the file in the page cache for every contender alike.
  run('read', file); run('inspect', file);
  const cold: Sample[] = [];
  const warm: Sample[] = [];
  const read: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) { read.push(run('read', file)); warm.push(run('inspect', file, small)); cold.push(run('inspect', file)); }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const readMs = median(read.map((r) => r.ms));
  const warmMs = median(warm.map((r) => r.ms));
  const coldMs = median(cold.map((r) => r.ms));
  const peak = Math.max(...cold.map((r) => r.maxRssMb), ...warm.map((r) => r.maxRssMb));
  const pct = (x: number) => `${((100 * x) / readMs).toFixed(1)}%`;
  console.log('');
  console.log(`command: npm run bench:inspect   (${ROUNDS} interleaved rounds, medians, page cache warm; ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, node ${process.version})`);
  console.log(`fs.readFile of the whole file (baseline)        ${readMs.toFixed(1)} ms   peak RSS ${Math.max(...read.map((r) => r.maxRssMb)).toFixed(1)} MB`);
  console.log(`inspect in a running worker (open+analyze+JSON)  ${warmMs.toFixed(1)} ms = ${pct(warmMs)} of the full read   (target <= 10%)`);
  console.log(`inspect, first call in a fresh process           ${coldMs.toFixed(1)} ms = ${pct(coldMs)} of the full read   (+ ${median(cold.map((r) => r.loadMs)).toFixed(1)} ms to load the CLI bundle)`);
  console.log(`inspector peak RSS                               ${peak.toFixed(1)} MB   (target < 150 MB)`);
  const ok = warmMs <= 0.1 * readMs && peak < 150;
  console.log(ok ? 'PASS' : 'MISS');
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
