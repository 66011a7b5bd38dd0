import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openModel } from '../../../src/core/open-model';
import { analyzeModel } from '../../../src/core/analysis/model-card';
import { BERT_FAMILY, BERT_MODELS, requireShared } from '../../helpers/paths';

requireShared();
interface Ref { params: number; components: Record<string, number>; layers: number; unique_layers: number; params_per_layer: number; model_type: string }
const refs = JSON.parse(readFileSync(path.join(BERT_FAMILY, 'refs.json'), 'utf8')) as Record<string, Ref>;
const FAMILY: Record<string, string> = { bert: 'BERT', distilbert: 'DistilBERT', albert: 'ALBERT', mobilebert: 'MobileBERT' };
const FILES = ['model.onnx', 'model.safetensors', 'pytorch_model.bin'];

for (const name of BERT_MODELS) {
  const ref = refs[name];
  for (const file of FILES) {
    test(`${name}/${file} matches PyTorch's counts`, async () => {
      const card = analyzeModel(await openModel(path.join(BERT_FAMILY, name, file)));
      assert.equal(card.family, FAMILY[ref.model_type]);
      assert.equal(card.params.total, ref.params);
      for (const [c, n] of Object.entries(card.params.byComponent)) assert.equal(n, ref.components[c] ?? 0, `component ${c}`);
      assert.equal(card.layers.length, ref.layers, 'executed layers');
      assert.equal(card.uniqueLayers, ref.unique_layers, 'distinct layer weight sets');
      for (const l of card.layers) assert.equal(l.params, ref.params_per_layer, `layer ${l.index}`);
      const shared = ref.layers !== ref.unique_layers;
      for (const l of card.layers) {
        if (shared) assert.deepEqual(l.sharedWith, card.layers.map((x) => x.index).filter((i) => i !== l.index));
        else assert.equal(l.sharedWith, undefined);
      }
      assert.equal(card.params.shared, shared ? ref.params_per_layer : 0);
      assert.ok(card.configCheck.length > 0 && card.configCheck.every((c) => c.agree), JSON.stringify(card.configCheck));
    });
  }
}

test('FLOPs of bert-mini at seq 128 equal the hand count, in every format', async () => {
  // Per layer: Q,K,V,O (4 x S x H x H) + FFN (2 x S x H x I) + attention (2 x S^2 x H); pooler and
  // classifier see the [CLS] token only.
  const S = 128, H = 64, I = 256;
  const perLayer = 4 * S * H * H + 2 * S * H * I + 2 * S * S * H;
  const expected = 2 * perLayer + H * H + H * 3;
  for (const file of FILES) {
    const card = analyzeModel(await openModel(path.join(BERT_FAMILY, 'bert-mini', file)), { seq: S });
    assert.equal(card.flops.total, expected, file);
    assert.deepEqual(card.flops.perLayer, [perLayer, perLayer], file);
  }
});

test('without config.json, an ONNX export is still attributed from its graph', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-noconfig-'));
  for (const name of BERT_MODELS) {
    const file = path.join(dir, `${name}.onnx`);
    copyFileSync(path.join(BERT_FAMILY, name, 'model.onnx'), file);
    const card = analyzeModel(await openModel(file));
    const ref = refs[name];
    assert.equal(card.config, undefined);
    assert.equal(card.family, FAMILY[ref.model_type], name);
    assert.equal(card.params.total, ref.params, name);
    // ALBERT's three executions of one layer come from the graph itself.
    assert.equal(card.layers.length, ref.layers, name);
    assert.equal(card.uniqueLayers, ref.unique_layers, name);
    assert.ok(card.familyEvidence.some((e) => e.includes('not stored in the weights')), 'heads unknown without config');
  }
});

test('ALBERT safetensors without config.json: says it cannot know the executions', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-albert-'));
  const file = path.join(dir, 'model.safetensors');
  copyFileSync(path.join(BERT_FAMILY, 'albert-mini', 'model.safetensors'), file);
  const card = analyzeModel(await openModel(file));
  assert.equal(card.family, 'ALBERT');
  assert.equal(card.params.total, refs['albert-mini'].params);
  assert.equal(card.layers.length, 1);
  assert.ok(card.warnings.some((w) => w.includes('without config.json')));
});

test('a config.json that disagrees with the weights is flagged', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-cfg-'));
  copyFileSync(path.join(BERT_FAMILY, 'bert-mini', 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const cfg = JSON.parse(readFileSync(path.join(BERT_FAMILY, 'bert-mini', 'config.json'), 'utf8'));
  cfg.num_hidden_layers = 12;
  cfg.intermediate_size = 3072;
  require('node:fs').writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  const card = analyzeModel(await openModel(dir));
  const bad = card.configCheck.filter((c) => !c.agree).map((c) => `${c.field}:${c.config}/${c.weights}`);
  assert.deepEqual(bad.sort(), ['intermediate_size:3072/256', 'num_hidden_layers:12/2']);
});

test('a Hugging Face folder opens its preferred weights with its config', async () => {
  const card = analyzeModel(await openModel(path.join(BERT_FAMILY, 'mobilebert-mini')));
  assert.equal(card.format, 'safetensors');
  assert.equal(card.architecture.bottleneckSize, 16);
  assert.equal(card.architecture.embeddingSize, 16);
  assert.equal(card.architecture.hiddenSize, 64);
  assert.equal(card.architecture.feedForwardsPerLayer, 2);
  assert.ok(card.configPath?.endsWith('config.json'));
});

test('an ALBERT config.json claiming 1e9 layers is not believed (found by the fuzzer: inspection hung expanding them)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-albert-layers-'));
  copyFileSync(path.join(BERT_FAMILY, 'albert-mini', 'model.safetensors'), path.join(dir, 'model.safetensors'));
  for (const n of [1e9, 2.5, -3]) {
    const cfg = JSON.parse(readFileSync(path.join(BERT_FAMILY, 'albert-mini', 'config.json'), 'utf8'));
    cfg.num_hidden_layers = n;
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    const t0 = performance.now();
    const card = analyzeModel(await openModel(dir));
    assert.ok(performance.now() - t0 < 1000, `num_hidden_layers ${n}: took ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(card.layers.length, 1, `num_hidden_layers ${n}`);
    assert.ok(card.warnings.some((w) => w.includes(`num_hidden_layers ${n} is not a layer count`)), card.warnings.join('\n'));
  }
});

test('30000 tensors are analysed in well under a second (found by the fuzzer: counting tied weights was quadratic)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-many-tensors-'));
  const header: Record<string, unknown> = {};
  for (let i = 0; i < 30_000; i++) header[`bert.encoder.layer.0.extra.${i}.weight`] = { dtype: 'F32', shape: [0, 4], data_offsets: [0, 0] };
  const text = Buffer.from(JSON.stringify(header));
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(text.length));
  const file = path.join(dir, 'model.safetensors');
  writeFileSync(file, Buffer.concat([n, text]));
  const model = await openModel(file);
  const t0 = performance.now();
  const card = analyzeModel(model);
  const ms = performance.now() - t0;
  assert.equal(card.tensors.length, 30_000);
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});
