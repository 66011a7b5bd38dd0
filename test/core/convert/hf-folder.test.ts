import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openModel } from '../../../src/core/open-model';
import { analyzeModel } from '../../../src/core/analysis/model-card';
import { buildEncoderClassifier, withDefaults, type EncoderConfig } from '../../../src/core/onnx/bert-builder';
import { serializeModel, writeModel } from '../../../src/core/onnx/onnx-writer';
import { OutputConflictError } from '../../../src/core/errors';
import { readStateDict, type StateDict } from '../../../src/core/convert/state-dict';
import { buildFromStateDict } from '../../../src/core/convert/from-state-dict';
import { stateDictOfSpec, writeHfFolder } from '../../../src/core/convert/hf-folder';
import { forwardSpecFromModel } from '../../../src/core/onnx/forward-spec';
import { BERT_FAMILY, SHARED, requireShared } from '../../helpers/paths';
import { logitsOf } from '../../helpers/encoder-logits';

requireShared();
const TOKENIZER = path.join(SHARED, 'tokenizers', 'bert-base-uncased', 'tokenizer.json');
const tmp = mkdtempSync(path.join(tmpdir(), 'mcl-hf-folder-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const fresh = (name = 'case') => path.join(tmp, `${name}-${++counter}`);

const CONFIGS: EncoderConfig[] = [
  { family: 'bert', vocabSize: 30522, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 64, numLabels: 3, seed: 1 },
  { family: 'distilbert', vocabSize: 300, hiddenSize: 16, numLayers: 2, numHeads: 4, intermediateSize: 32, maxPositions: 64, numLabels: 2, seed: 2 },
  { family: 'albert', vocabSize: 300, hiddenSize: 16, embeddingSize: 8, numLayers: 4, numHiddenGroups: 2, numHeads: 2, intermediateSize: 32, maxPositions: 64, numLabels: 2, seed: 3 },
  { family: 'mobilebert', vocabSize: 300, hiddenSize: 32, embeddingSize: 8, bottleneckSize: 8, numFeedforwardNetworks: 2, numLayers: 2, numHeads: 2, intermediateSize: 16, maxPositions: 64, numLabels: 2, seed: 4 },
];
const FAMILY_NAMES: Record<string, string> = { bert: 'BERT', distilbert: 'DistilBERT', albert: 'ALBERT', mobilebert: 'MobileBERT' };
const ARCH: Record<string, string> = { bert: 'BertForSequenceClassification', distilbert: 'DistilBertForSequenceClassification', albert: 'AlbertForSequenceClassification', mobilebert: 'MobileBertForSequenceClassification' };

function bitsEqual(a: StateDict, b: StateDict): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, t] of b) {
    const x = a.get(name)!;
    assert.deepEqual(x.dims, t.dims, name);
    assert.ok(Buffer.from(x.values.buffer, x.values.byteOffset, x.values.byteLength).equals(Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength)), name);
  }
}

function safetensorsHeader(file: string): Record<string, unknown> {
  const buf = readFileSync(file);
  return JSON.parse(buf.toString('utf8', 8, 8 + Number(buf.readBigUInt64LE(0)))) as Record<string, unknown>;
}

for (const config of CONFIGS) {
  test(`${config.family}: builder ONNX -> Hugging Face folder -> the same family, parameters, tensors bit for bit and logits`, async () => {
    const spec = buildEncoderClassifier(config);
    const onnx = path.join(fresh(), 'model.onnx');
    mkdirSync(path.dirname(onnx));
    writeModel(onnx, spec);
    const source = analyzeModel(await openModel(onnx));
    const sd = readStateDict(await openModel(onnx));
    const dir = fresh('hf');
    const labels = Array.from({ length: config.numLabels }, (_, i) => `class_${i}`);
    const withTokenizer = config.family === 'bert';
    const r = writeHfFolder(dir, { config: sd.config, tensors: sd.tensors, labels, tokenizerFiles: withTokenizer ? [TOKENIZER] : [], sources: [onnx] });
    assert.equal(r.replaced, false);
    assert.deepEqual(readdirSync(path.dirname(dir)).filter((n) => n.startsWith(path.basename(dir))), [path.basename(dir)], 'no temp folder left beside it');
    assert.deepEqual(readdirSync(dir).sort(), (withTokenizer ? ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'] : ['config.json', 'model.safetensors']));

    const folder = await openModel(dir);
    const card = analyzeModel(folder);
    assert.equal(folder.format, 'safetensors');
    assert.equal(card.family, FAMILY_NAMES[config.family]);
    assert.equal(card.family, source.family);
    assert.equal(card.params.total, source.params.total);
    assert.deepEqual(card.params.byComponent, source.params.byComponent);
    assert.equal(card.layers.length, config.numLayers);
    assert.deepEqual(card.configCheck.filter((c) => !c.agree), [], 'config.json agrees with the weights');

    const back = readStateDict(folder);
    assert.deepEqual(back.warnings, []);
    bitsEqual(back.tensors, new Map(spec.graph.initializers.map((t) => [t.name, { dims: t.dims, values: t.values as Float32Array }])));
    assert.deepEqual(back.labels, labels);
    const full = withDefaults(config);
    for (const k of Object.keys(config) as Array<keyof EncoderConfig>) if (k !== 'seed') assert.equal(back.config[k], full[k], k);
    const a = await logitsOf(serializeModel(spec), config.vocabSize);
    const b = await logitsOf(serializeModel(buildFromStateDict(back.config, back.tensors)), config.vocabSize);
    assert.deepEqual(b, a, 'the folder computes exactly what the ONNX did');

    const json = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(json.model_type, config.family);
    assert.deepEqual(json.architectures, [ARCH[config.family]]);
    assert.equal(json.vocab_size, config.vocabSize);
    assert.equal(json.num_labels, config.numLabels);
    assert.equal(json.torch_dtype, 'float32');
    assert.deepEqual(json.id2label, Object.fromEntries(labels.map((l, i) => [String(i), l])));
    assert.deepEqual(json.label2id, Object.fromEntries(labels.map((l, i) => [l, i])));
    if (config.family === 'distilbert') assert.deepEqual([json.dim, json.n_layers, json.n_heads, json.hidden_dim, json.activation], [16, 2, 4, 32, 'gelu']);
    else assert.deepEqual([json.hidden_size, json.num_hidden_layers, json.num_attention_heads, json.intermediate_size, json.hidden_act], [config.hiddenSize, config.numLayers, config.numHeads, config.intermediateSize, full.hiddenAct]);
    if (config.family === 'albert') assert.deepEqual([json.embedding_size, json.num_hidden_groups, json.inner_group_num], [8, 2, 1]);
    if (config.family === 'mobilebert') {
      assert.deepEqual([json.embedding_size, json.intra_bottleneck_size, json.num_feedforward_networks, json.normalization_type, json.trigram_input, json.use_bottleneck, json.key_query_shared_bottleneck, json.use_bottleneck_attention, json.classifier_activation],
        [8, 8, 2, 'no_norm', true, true, true, false, true]);
    }

    const header = safetensorsHeader(path.join(dir, 'model.safetensors'));
    assert.deepEqual(header.__metadata__, { format: 'pt', producer: 'model-compression-lab' });
    for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') assert.equal((v as { dtype: string }).dtype, 'F32', k);
    if (withTokenizer) {
      assert.ok(readFileSync(path.join(dir, 'tokenizer.json')).equals(readFileSync(TOKENIZER)));
      assert.ok(readFileSync(path.join(dir, 'vocab.txt')).equals(readFileSync(path.join(path.dirname(TOKENIZER), 'vocab.txt'))));
      // No tokenizer_class in the original: the copy names it, so AutoTokenizer keeps the WordPiece one.
      assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')), { do_lower_case: true, tokenizer_class: 'BertTokenizer' });
    }
  });
}

test('stateDictOfSpec: a builder spec (a trained student) exports with the config its metadata records', async () => {
  const config: EncoderConfig = { family: 'albert', vocabSize: 200, hiddenSize: 16, embeddingSize: 8, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 32, numLabels: 2, hiddenAct: 'gelu', seed: 9 };
  const spec = buildEncoderClassifier({ ...config, dropout: 0.1 });
  // As training leaves it: the weights changed in place.
  for (const t of spec.graph.initializers) (t.values as Float32Array).forEach((v, i, a) => { a[i] = v + 0.001 * (i % 7); });
  const sd = stateDictOfSpec(spec);
  const { seed: _seed, ...rest } = config;
  for (const [k, v] of Object.entries(rest)) assert.equal(sd.config[k as keyof EncoderConfig], v, k);
  const dir = fresh('student');
  writeHfFolder(dir, sd);
  const back = readStateDict(await openModel(dir));
  bitsEqual(back.tensors, sd.tensors);
  assert.equal(back.config.hiddenAct, 'gelu', 'a non-default activation survives the trip');

  // A model file read back as a spec, as the trainer reads its input and writes its output.
  const file = path.join(fresh('spec'), 'model.onnx');
  mkdirSync(path.dirname(file));
  writeModel(file, spec);
  bitsEqual(stateDictOfSpec(forwardSpecFromModel(await openModel(file))).tensors, sd.tensors);

  assert.throws(() => stateDictOfSpec({ ...spec, metadata: {} }), /no compression_lab\.config metadata/);
  const extra = { ...spec, graph: { ...spec.graph, initializers: [...spec.graph.initializers, { name: 'fit_dense.weight', dtype: 'float32' as const, dims: [2], values: new Float32Array(2) }] } };
  assert.throws(() => stateDictOfSpec(extra), /initializers the albert builder does not emit: fit_dense\.weight/);
});

test('which folders are written: new, empty or an earlier output; never a foreign one, the source model\'s, or over an input', async () => {
  const config = CONFIGS[1];
  const sd = stateDictOfSpec(buildEncoderClassifier(config));
  const dir = fresh('out');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  assert.equal(writeHfFolder(dir, sd).replaced, false, 'an existing folder without those files');
  const again = writeHfFolder(dir, { ...sd, tokenizerFiles: [TOKENIZER] });
  assert.equal(again.replaced, true, 'its own earlier output is replaced');
  assert.equal(readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine', 'other files are left alone');

  const foreign = fresh('foreign');
  mkdirSync(foreign);
  writeFileSync(path.join(foreign, 'config.json'), '{}');
  assert.throws(() => writeHfFolder(foreign, sd), (e: unknown) => e instanceof OutputConflictError && e.file === foreign && /already holds config\.json, not an earlier output of compression-lab/.test(e.message));
  assert.equal(readFileSync(path.join(foreign, 'config.json'), 'utf8'), '{}');

  const model = fresh('model');
  mkdirSync(model);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(path.join(BERT_FAMILY, 'distilbert-mini', f), path.join(model, f));
  const fromFolder = readStateDict(await openModel(model));
  assert.throws(() => writeHfFolder(model, { ...fromFolder, sources: [model] }), /is the folder of the model it is made from/);
  assert.throws(() => writeHfFolder(model, { ...fromFolder, sources: [path.join(model, 'model.safetensors')] }), /is the folder of the model it is made from/);

  // The tokenizer to copy is the very file the folder would get.
  assert.throws(() => writeHfFolder(dir, { ...sd, tokenizerFiles: [path.join(dir, 'tokenizer.json')] }), /would overwrite the tokenizer this job reads/);

  const file = path.join(tmp, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(() => writeHfFolder(file, sd), /is a file; give a folder/);
  assert.throws(() => writeHfFolder(fresh(), { ...sd, tokenizerFiles: [path.join(tmp, 'no-such-tokenizer.json')] }), /no such tokenizer file/);
  assert.ok(!existsSync(path.join(tmp, `case-${counter}`)), 'a refused folder is not created');
});
