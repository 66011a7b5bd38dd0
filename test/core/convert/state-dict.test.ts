import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openModel } from '../../../src/core/open-model';
import { analyzeModel } from '../../../src/core/analysis/model-card';
import { safetensorsReader } from '../../../src/core/readers/safetensors-reader';
import { loadTensor } from '../../../src/core/tensor-values';
import { buildEncoderClassifier, type EncoderConfig } from '../../../src/core/onnx/bert-builder';
import { serializeModel, writeModel } from '../../../src/core/onnx/onnx-writer';
import { writeSafetensors } from '../../../src/core/io/safetensors-writer';
import { UnsupportedModelError } from '../../../src/core/errors';
import { readStateDict, type ReadStateDictOptions, type StateDict } from '../../../src/core/convert/state-dict';
import { buildFromStateDict } from '../../../src/core/convert/from-state-dict';
import { BERT_FAMILY, BERT_MODELS, ONNX_BACKEND, requireShared } from '../../helpers/paths';
import { logitsOf, maxAbsDiff } from '../../helpers/encoder-logits';
import { toHalf, writeRawSafetensors } from '../../helpers/safetensors-raw';
import { stateDictZip } from '../../helpers/torch-zip';

requireShared();
const refs = JSON.parse(readFileSync(path.join(BERT_FAMILY, 'refs.json'), 'utf8')) as Record<string, { params: number; components: Record<string, number> }>;
const VOCAB = 500;
const tmp = mkdtempSync(path.join(tmpdir(), 'mcl-state-dict-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => { const d = path.join(tmp, `case-${++counter}`); mkdirSync(d); return d; };

/** The checkpoint's own tensors, read without the converter: what every format must come back as. */
async function reference(name: string): Promise<StateDict> {
  const st = await safetensorsReader.read(path.join(BERT_FAMILY, name, 'model.safetensors'));
  return new Map(st.tensors.map((t) => [t.name, { dims: t.shape, values: loadTensor(t).values as Float32Array }]));
}

function assertSameTensors(actual: StateDict, expected: StateDict): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, t] of expected) {
    const a = actual.get(name)!;
    assert.deepEqual(a.dims, t.dims, name);
    assert.ok(Buffer.from(a.values.buffer, a.values.byteOffset, a.values.byteLength).equals(Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength)), `${name}: values differ`);
  }
}

/** A folder holding the given weights file and (unless told otherwise) the model's config.json. */
function folderWith(model: string, config: Record<string, unknown> | null = null): string {
  const dir = freshDir();
  const cfg = config ?? JSON.parse(readFileSync(path.join(BERT_FAMILY, model, 'config.json'), 'utf8'));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

async function refusal(p: Promise<unknown> | (() => unknown), re: RegExp): Promise<UnsupportedModelError> {
  let caught: unknown;
  try { await (typeof p === 'function' ? p() : p); } catch (e) { caught = e; }
  assert.ok(caught instanceof UnsupportedModelError, `expected an UnsupportedModelError, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.match(caught.message, re);
  return caught;
}

const FORMATS = ['model.onnx', 'model.safetensors', 'pytorch_model.bin', ''] as const;

for (const name of BERT_MODELS) {
  test(`${name}: every format reads as one state dict whose builder graph computes the exporter's logits`, async () => {
    const expected = await reference(name);
    const exported = await logitsOf(path.join(BERT_FAMILY, name, 'model.onnx'), VOCAB);
    for (const file of FORMATS) {
      const what = file || 'the folder';
      // mobilebert-mini's config.json leaves normalization_type out (so transformers would build
      // NoNorm), yet it was exported with LayerNorm; its graph says so, its checkpoints cannot.
      const options: ReadStateDictOptions = name === 'mobilebert-mini' && file !== 'model.onnx' ? { overrides: { normalization: 'layer_norm' } } : {};
      const sd = readStateDict(await openModel(path.join(BERT_FAMILY, name, file)), options);
      assert.deepEqual(sd.warnings, [], what);
      assertSameTensors(sd.tensors, expected);
      const warnings: string[] = [];
      const spec = buildFromStateDict(sd.config, sd.tensors, { warnings });
      assert.deepEqual(warnings, []);
      const d = maxAbsDiff(await logitsOf(serializeModel(spec), VOCAB), exported);
      assert.ok(d < 1e-4, `${what}: logits differ by ${d}`);
      const out = path.join(freshDir(), 'model.onnx');
      writeModel(out, spec);
      const card = analyzeModel(await openModel(out));
      assert.equal(card.params.total, refs[name].params, what);
      for (const [c, n] of Object.entries(refs[name].components)) assert.equal(card.params.byComponent[c as 'encoder'], n, `${what}: ${c}`);
    }
  });
}

test('configs come from config.json and the weights: sizes, heads, activation, groups', async () => {
  const bert = readStateDict(await openModel(path.join(BERT_FAMILY, 'bert-mini'))).config;
  assert.deepEqual(bert, { family: 'bert', vocabSize: 500, hiddenSize: 64, numLayers: 2, intermediateSize: 256, maxPositions: 64, numLabels: 3, typeVocabSize: 2, numHeads: 2, hiddenAct: 'gelu' });
  const albert = readStateDict(await openModel(path.join(BERT_FAMILY, 'albert-mini', 'model.onnx'))).config;
  assert.equal(albert.numLayers, 3, 'three executions of one layer, counted in the graph');
  assert.equal(albert.numHiddenGroups, 1);
  assert.equal(albert.embeddingSize, 16);
  assert.equal(albert.hiddenAct, 'gelu_new');
  const distil = readStateDict(await openModel(path.join(BERT_FAMILY, 'distilbert-mini', 'pytorch_model.bin'))).config;
  assert.equal(distil.typeVocabSize, 0);
  const mobile = readStateDict(await openModel(path.join(BERT_FAMILY, 'mobilebert-mini', 'model.onnx'))).config;
  assert.deepEqual([mobile.bottleneckSize, mobile.numFeedforwardNetworks, mobile.normalization, mobile.hiddenAct], [16, 2, 'layer_norm', 'relu']);
});

test("a MobileBERT checkpoint whose config.json leaves normalization_type out is read as transformers would: no_norm, with a warning", async () => {
  const sd = readStateDict(await openModel(path.join(BERT_FAMILY, 'mobilebert-mini', 'model.safetensors')));
  assert.equal(sd.config.normalization, 'no_norm');
  assert.equal(sd.warnings.length, 1);
  assert.match(sd.warnings[0], /config\.json: normalization_type is not set; Hugging Face's default no_norm/);
});

test("the builder's own ONNX reads back as its initializers, with the config its metadata records", async () => {
  const configs: EncoderConfig[] = [
    { family: 'bert', vocabSize: 120, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 48, maxPositions: 40, numLabels: 5, hiddenAct: 'gelu_new', seed: 3 },
    { family: 'albert', vocabSize: 90, hiddenSize: 24, embeddingSize: 8, numLayers: 4, numHiddenGroups: 2, numHeads: 2, intermediateSize: 40, maxPositions: 30, numLabels: 2, hiddenAct: 'relu', seed: 4 },
    { family: 'mobilebert', vocabSize: 90, hiddenSize: 32, embeddingSize: 8, bottleneckSize: 8, numFeedforwardNetworks: 3, numLayers: 1, numHeads: 2, intermediateSize: 16, maxPositions: 30, numLabels: 2, seed: 5 },
    { family: 'distilbert', vocabSize: 90, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 20, maxPositions: 30, numLabels: 4, seed: 6 },
  ];
  for (const config of configs) {
    const spec = buildEncoderClassifier(config);
    const file = path.join(freshDir(), 'model.onnx');
    writeModel(file, spec);
    const sd = readStateDict(await openModel(file));
    assert.deepEqual(sd.warnings, [], config.family);
    assertSameTensors(sd.tensors, new Map(spec.graph.initializers.map((t) => [t.name, { dims: t.dims, values: t.values as Float32Array }])));
    const { seed: _seed, ...rest } = config;
    for (const [k, v] of Object.entries(rest)) assert.equal(sd.config[k as keyof EncoderConfig], v, `${config.family}: ${k}`);
    const rebuilt = buildFromStateDict(sd.config, sd.tensors);
    assert.ok(serializeModel(rebuilt).equals(serializeModel(spec)), `${config.family}: the rebuilt graph is the same model, byte for byte`);
  }
});

test('names are normalised: a base model without its prefix, DataParallel module., LayerNorm gamma/beta; buffers dropped, other heads left out with a warning', async () => {
  const expected = await reference('bert-mini');
  const dir = folderWith('bert-mini');
  const renamed = [...expected].map(([n, t]) => {
    let name = n.replace(/^bert\./, '');
    if (name.endsWith('LayerNorm.weight')) name = name.replace(/weight$/, 'gamma');
    if (name.endsWith('LayerNorm.bias')) name = name.replace(/bias$/, 'beta');
    return { name: n.startsWith('classifier') ? n : `module.${name}`, shape: t.dims, data: t.values };
  });
  writeSafetensors(path.join(dir, 'model.safetensors'), [
    ...renamed,
    { name: 'module.embeddings.position_ids', shape: [1, 64], data: BigInt64Array.from({ length: 64 }, (_, i) => BigInt(i)) },
    { name: 'cls.predictions.bias', shape: [500], data: new Float32Array(500) },
  ]);
  const sd = readStateDict(await openModel(dir));
  assertSameTensors(sd.tensors, expected);
  assert.equal(sd.warnings.length, 1);
  assert.match(sd.warnings[0], /1 tensor\(s\) outside the bert sequence classifier are left out: cls\.predictions\.bias$/);

  const distil = await reference('distilbert-mini');
  const ddir = folderWith('distilbert-mini');
  writeSafetensors(path.join(ddir, 'model.safetensors'), [...distil].map(([n, t]) => ({ name: n.replace(/^distilbert\./, ''), shape: t.dims, data: t.values })));
  assertSameTensors(readStateDict(await openModel(ddir)).tensors, distil);
});

test('float16, bfloat16 and float64 weights become float32', async () => {
  const expected = await reference('bert-mini');
  const entries = [...expected];
  const half = (v: Float32Array) => Buffer.from(Uint16Array.from(v, toHalf).buffer);
  const bf16 = (v: Float32Array) => Buffer.from(Uint16Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length), (u) => u >>> 16).buffer);
  const exported = await logitsOf(path.join(BERT_FAMILY, 'bert-mini', 'model.onnx'), VOCAB);
  for (const [dtype, encode, tolerance] of [['F16', half, 2e-2], ['BF16', bf16, 1e-1]] as const) {
    const dir = folderWith('bert-mini');
    const stored = entries.map(([n, t]) => ({ name: n, dtype, shape: t.dims, bytes: encode(t.values) }));
    writeRawSafetensors(path.join(dir, 'model.safetensors'), stored);
    const sd = readStateDict(await openModel(dir));
    for (const s of stored) {
      const v = sd.tensors.get(s.name)!.values;
      const bits = new Uint16Array(s.bytes.buffer, s.bytes.byteOffset, s.bytes.length / 2);
      // Every 16-bit float is exactly a float32: reading it back and rounding again must give its bits.
      for (let i = 0; i < v.length; i++) {
        const back = dtype === 'F16' ? toHalf(v[i]) : new Uint32Array(new Float32Array([v[i]]).buffer)[0] >>> 16;
        assert.equal(back, bits[i], `${dtype} ${s.name}[${i}]`);
      }
    }
    const d = maxAbsDiff(await logitsOf(serializeModel(buildFromStateDict(sd.config, sd.tensors)), VOCAB), exported);
    assert.ok(d < tolerance, `${dtype}: logits within ${tolerance} of float32's (${d})`);
  }
  const dir = folderWith('bert-mini');
  writeSafetensors(path.join(dir, 'model.safetensors'), entries.map(([n, t]) => ({ name: n, shape: t.dims, data: Float64Array.from(t.values) })));
  assertSameTensors(readStateDict(await openModel(dir)).tensors, expected);
});

test('tied weights: refused when the classifier would use both, fine when the other is left out', async () => {
  const expected = await reference('bert-mini');
  const word = expected.get('bert.embeddings.word_embeddings.weight')!;
  const q = 'bert.encoder.layer.0.attention.self.query.weight';
  const k = 'bert.encoder.layer.0.attention.self.key.weight';
  const storages: Float32Array[] = [];
  const entries = [...expected].filter(([n]) => n !== k).map(([n, t]) => { storages.push(t.values); return { name: n, storage: storages.length - 1, shape: t.dims }; });
  const qIndex = entries.find((e) => e.name === q)!.storage;
  const wordIndex = entries.find((e) => e.name === 'bert.embeddings.word_embeddings.weight')!.storage;

  const tiedDir = folderWith('bert-mini');
  writeFileSync(path.join(tiedDir, 'pytorch_model.bin'), stateDictZip([...entries, { name: k, storage: qIndex, shape: [64, 64] }], storages));
  await refusal(async () => readStateDict(await openModel(tiedDir)), /'bert\.encoder\.layer\.0\.attention\.self\.key\.weight' is tied to 'bert\.encoder\.layer\.0\.attention\.self\.query\.weight'/);

  // The MLM decoder tied to the word embeddings, as BertForPreTraining saves it: not part of a classifier.
  const mlmDir = folderWith('bert-mini');
  storages.push(expected.get(k)!.values);
  writeFileSync(path.join(mlmDir, 'pytorch_model.bin'), stateDictZip([...entries, { name: k, storage: storages.length - 1, shape: [64, 64] }, { name: 'cls.predictions.decoder.weight', storage: wordIndex, shape: word.dims }], storages));
  const sd = readStateDict(await openModel(mlmDir));
  assertSameTensors(sd.tensors, expected);
  assert.match(sd.warnings.join('\n'), /left out: cls\.predictions\.decoder\.weight/);
});

test('refusals name what is wrong: unknown encoder tensors, quantized weights, config against weights, unsupported options, missing facts', async () => {
  const expected = await reference('bert-mini');
  const plain = [...expected].map(([n, t]) => ({ name: n, shape: t.dims, data: t.values }));

  const unknown = folderWith('bert-mini');
  writeSafetensors(path.join(unknown, 'model.safetensors'), [...plain, { name: 'bert.encoder.layer.0.attention.self.distance_embedding.weight', shape: [127, 32], data: new Float32Array(127 * 32) }]);
  await refusal(async () => readStateDict(await openModel(unknown)), /1 tensor\(s\) are not part of the bert classifier the builder emits: bert\.encoder\.layer\.0\.attention\.self\.distance_embedding\.weight/);

  const quantized = folderWith('bert-mini');
  writeRawSafetensors(path.join(quantized, 'model.safetensors'), plain.map((t) => t.name === 'classifier.weight'
    ? { name: t.name, dtype: 'I8', shape: t.shape, bytes: Buffer.alloc(t.data.length) }
    : { name: t.name, dtype: 'F32', shape: t.shape, bytes: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength) }));
  await refusal(async () => readStateDict(await openModel(quantized)), /'classifier\.weight' \(classifier\.weight\) is int8: quantized weights cannot be converted/);

  const cfg = JSON.parse(readFileSync(path.join(BERT_FAMILY, 'bert-mini', 'config.json'), 'utf8'));
  const cases: Array<[Record<string, unknown> | null, RegExp]> = [
    [{ ...cfg, hidden_size: 128 }, /config\.json: hidden_size is 128 but the weights say 64/],
    [{ ...cfg, num_hidden_layers: 3 }, /num_hidden_layers is 3 but the weights say 2/],
    [{ ...cfg, position_embedding_type: 'relative_key' }, /position_embedding_type "relative_key": the builder emits absolute position embeddings only/],
    [{ ...cfg, hidden_act: 'silu' }, /hidden_act "silu": the builder computes gelu, gelu_new/],
    [{ ...cfg, model_type: 'roberta' }, /model_type 'roberta' is not one the converter handles/],
    [{ ...cfg, num_attention_heads: 3 }, /cannot be built: attention width 64 is not divisible by 3 heads/],
    [{ ...cfg, num_attention_heads: undefined }, /the weights do not say num_attention_heads and .*config\.json does not either; put a config\.json with num_attention_heads beside the model/],
  ];
  for (const [config, re] of cases) {
    const dir = folderWith('bert-mini', config);
    copyFileSync(path.join(BERT_FAMILY, 'bert-mini', 'model.safetensors'), path.join(dir, 'model.safetensors'));
    await refusal(async () => readStateDict(await openModel(dir)), re);
  }

  // Weights alone: heads, and ALBERT's number of layers, are not in them.
  const bare = freshDir();
  copyFileSync(path.join(BERT_FAMILY, 'bert-mini', 'model.onnx'), path.join(bare, 'model.onnx'));
  await refusal(async () => readStateDict(await openModel(path.join(bare, 'model.onnx'))), /the weights do not say num_attention_heads; put a config\.json/);
  const albert = freshDir();
  copyFileSync(path.join(BERT_FAMILY, 'albert-mini', 'model.safetensors'), path.join(albert, 'model.safetensors'));
  await refusal(async () => readStateDict(await openModel(albert), { overrides: { numHeads: 2 } }), /the weights do not say num_hidden_layers/);
  const albertCfg = folderWith('albert-mini', { ...JSON.parse(readFileSync(path.join(BERT_FAMILY, 'albert-mini', 'config.json'), 'utf8')), inner_group_num: 2 });
  copyFileSync(path.join(BERT_FAMILY, 'albert-mini', 'model.safetensors'), path.join(albertCfg, 'model.safetensors'));
  await refusal(async () => readStateDict(await openModel(albertCfg)), /inner_group_num 2: the builder emits one layer per ALBERT group/);

  // Not a BERT-family model at all.
  await refusal(async () => readStateDict(await openModel(path.join(ONNX_BACKEND, 'pytorch-converted', 'test_Linear_no_bias', 'model.onnx'))), /not a BERT, DistilBERT, ALBERT or MobileBERT model/);
});
