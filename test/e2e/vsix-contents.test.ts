// What the packaged VSIX carries (read with the project's own zip reader): the bundles, media and
// manifest, linux-x64's onnxruntime binaries and nothing else: no sources, tests, maps or other
// platforms' binaries. Run by npm run test:e2e after packaging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { RandomAccessFile } from '../../src/core/io/random-access-file';
import { ZipArchive } from '../../src/core/readers/zip-archive';
import { builtVsix } from './harness';

test('the linux-x64 VSIX carries only what the extension runs', async () => {
  const file = builtVsix();
  const raf = await RandomAccessFile.open(file);
  try {
    const names = (await ZipArchive.open(raf)).entries.map((e) => e.name);
    for (const must of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/worker.js', 'extension/dist/webview.js', 'extension/dist/compare.js', 'extension/dist/job-form.js', 'extension/dist/run.js', 'extension/dist/report.js', 'extension/media/run.css', 'extension/media/report.css', 'extension/media/job-form.css', 'extension/media/model-card.css',
      'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'extension/node_modules/onnxruntime-common/dist/cjs/package.json']) {
      assert.ok(names.includes(must), `carries ${must}`);
    }
    const unwanted = names.filter((n) => /\.(ts|map)$/.test(n) || /^extension\/(src|test|webview|bench|scripts)\//.test(n)
      || /onnxruntime-node\/bin\/.*\/(darwin|win32|linux\/arm64)\//.test(n));
    assert.deepEqual(unwanted, []);
    const nodeModules = new Set(names.filter((n) => n.startsWith('extension/node_modules/')).map((n) => n.split('/')[2]));
    assert.deepEqual([...nodeModules].sort(), ['onnxruntime-common', 'onnxruntime-node']);
    console.log(`# ${file}: ${(statSync(file).size / 1024 / 1024).toFixed(1)} MB, ${names.length} entries`);
  } finally {
    await raf.close();
  }
});
