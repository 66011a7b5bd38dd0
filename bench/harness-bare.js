// The baseline for `npm run bench:harness`: onnxruntime-node's session.run in a tight loop, each
// run timed, nothing else. Forked by bench/harness.ts like the benchmark worker is (a fresh Node
// process with an IPC channel), given the same model, session options and input values; answers
// with its per-run times over IPC.
//   fork('bench/harness-bare.js', [MODEL, FEEDS_JSON, OPTIONS_JSON, WARMUP, RUNS])
'use strict';
const { readFileSync } = require('node:fs');
const ort = require('onnxruntime-node');

const ARRAYS = { int64: (v) => BigInt64Array.from(v, BigInt), int32: Int32Array.from, float32: Float32Array.from };

(async () => {
  const [model, feedsFile, optionsJson, warmup, runs] = process.argv.slice(2);
  const feeds = {};
  for (const [name, t] of Object.entries(JSON.parse(readFileSync(feedsFile, 'utf8')))) {
    feeds[name] = new ort.Tensor(t.dtype, ARRAYS[t.dtype](t.values), t.shape);
  }
  const session = await ort.InferenceSession.create(model, JSON.parse(optionsJson));
  await session.run(feeds); // first run
  for (let i = 0; i < Number(warmup); i++) await session.run(feeds);
  const samplesMs = [];
  for (let i = 0; i < Number(runs); i++) {
    const t0 = performance.now();
    await session.run(feeds);
    samplesMs.push(performance.now() - t0);
  }
  await session.release();
  process.send({ samplesMs }, () => process.exit(0));
})().catch((e) => { process.stderr.write(String(e.stack || e)); process.exit(1); });
