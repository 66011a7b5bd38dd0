// `compression-lab build`: a fresh, seeded BERT-family sequence classifier from the graph builder,
// written as ONNX with its config.json beside it (as the demo does), and optionally as a Hugging
// Face folder with the tokenizer's files.
import * as path from 'node:path';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { buildEncoderClassifier, type BuildFamily, type EncoderConfig } from '../core/onnx/bert-builder';
import { writeModel } from '../core/onnx/onnx-writer';
import { writeAtomically } from '../core/io/atomic-write';
import { checkOutputs } from '../core/io/output-guard';
import { hfConfigJson, FAMILIES } from '../core/convert/hf-config';
import { checkHfFolder, stateDictOfSpec, writeHfFolder, type HfFolderContents } from '../core/convert/hf-folder';
import { loadTokenizer } from '../core/text/tokenizer';
import { formatBytes, formatCount } from '../core/format';
import { nonNegativeInt, oneOf, parseArgs, positiveInt, UsageError } from './args';

export interface BuildArgs {
  config: EncoderConfig;
  out: string;
  hfOut?: string;
  tokenizer?: string;
}

const FLAGS = {
  family: 'string', layers: 'string', hidden: 'string', heads: 'string', intermediate: 'string', vocab: 'string', tokenizer: 'string',
  labels: 'string', 'max-positions': 'string', embedding: 'string', bottleneck: 'string', ffns: 'string', groups: 'string',
  normalization: 'string', seed: 'string', out: 'string', 'hf-out': 'string',
} as const;

/** Flags that only mean something for some families. */
const ONLY_FOR: Record<string, BuildFamily[]> = { embedding: ['albert', 'mobilebert'], bottleneck: ['mobilebert'], ffns: ['mobilebert'], normalization: ['mobilebert'], groups: ['albert'] };

export function parseBuild(argv: string[]): BuildArgs {
  const { positional, flags } = parseArgs(argv, FLAGS);
  if (positional.length) throw new UsageError(`build takes no positional arguments (got '${positional[0]}')`);
  const family = oneOf(flags.family, 'family', FAMILIES);
  const missing = ['family', 'layers', 'hidden', 'heads', 'intermediate', 'labels', 'out'].filter((f) => flags[f] === undefined);
  if (flags.vocab === undefined && flags.tokenizer === undefined) missing.push('vocab (or --tokenizer)');
  if (missing.length || !family) throw new UsageError(`build needs ${missing.map((m) => `--${m}`).join(', ')}`);
  if (flags.vocab !== undefined && flags.tokenizer !== undefined) throw new UsageError('give --vocab or --tokenizer, not both (the tokenizer sets the vocabulary size)');
  for (const [flag, families] of Object.entries(ONLY_FOR)) {
    if (flags[flag] !== undefined && !families.includes(family)) throw new UsageError(`--${flag} is for ${families.join(' and ')} models, not ${family}`);
  }
  const out = flags.out as string;
  if (!out.toLowerCase().endsWith('.onnx')) throw new UsageError(`--out must be an .onnx file (got '${out}')`);
  const tokenizer = flags.tokenizer as string | undefined;

  const int = (f: string) => positiveInt(flags[f], f, 0);
  const opt = (f: string) => (flags[f] !== undefined ? int(f) : undefined);
  const config: EncoderConfig = {
    family, numLayers: int('layers'), hiddenSize: int('hidden'), numHeads: int('heads'), intermediateSize: int('intermediate'),
    vocabSize: tokenizer ? 0 : int('vocab'), numLabels: int('labels'), maxPositions: opt('max-positions') ?? 512,
    ...(opt('embedding') !== undefined ? { embeddingSize: opt('embedding') } : {}),
    ...(opt('bottleneck') !== undefined ? { bottleneckSize: opt('bottleneck') } : {}),
    ...(opt('ffns') !== undefined ? { numFeedforwardNetworks: opt('ffns') } : {}),
    ...(opt('groups') !== undefined ? { numHiddenGroups: opt('groups') } : {}),
    ...(flags.normalization !== undefined ? { normalization: oneOf(flags.normalization, 'normalization', ['no_norm', 'layer_norm'] as const) } : {}),
    ...(flags.seed !== undefined ? { seed: nonNegativeInt(flags.seed, 'seed') } : {}),
  };
  // The builder's own checks, said in flags.
  const width = family === 'mobilebert' ? config.bottleneckSize ?? Math.max(1, Math.floor(config.hiddenSize / 4)) : config.hiddenSize;
  if (width % config.numHeads !== 0) {
    throw new UsageError(`--heads ${config.numHeads} must divide the attention width ${width} (${family === 'mobilebert' ? '--bottleneck, default --hidden / 4' : '--hidden'})`);
  }
  if (config.numHiddenGroups !== undefined && config.numLayers % config.numHiddenGroups !== 0) {
    throw new UsageError(`--groups ${config.numHiddenGroups} must divide --layers ${config.numLayers}`);
  }
  return { config, out, hfOut: flags['hf-out'] as string | undefined, tokenizer };
}

export async function runBuild(a: BuildArgs, write: (s: string) => void): Promise<number> {
  const tokenizer = a.tokenizer ? loadTokenizer(path.resolve(a.tokenizer)) : undefined;
  const config: EncoderConfig = tokenizer ? { ...a.config, vocabSize: tokenizer.vocabSize } : a.config;
  const configFile = path.join(path.dirname(path.resolve(a.out)), 'config.json');
  const tokenizerFiles = tokenizer ? [tokenizer.file] : [];
  const tokenizerDir = tokenizer ? path.dirname(tokenizer.file) : undefined;
  const reads = tokenizerDir
    ? ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'config.json'].map((n) => path.join(tokenizerDir, n)).filter((f) => existsSync(f)).map((file) => ({ role: "the tokenizer's files", file }))
    : [];
  // With --hf-out the folder of --out, its config.json is the Hugging Face one, written with the folder.
  const sameFolder = a.hfOut !== undefined && path.resolve(a.hfOut) === path.dirname(configFile);
  checkOutputs(reads, [{ role: '--out', file: a.out }, ...(sameFolder ? [] : [{ role: 'the config.json beside --out', file: configFile }])]);

  const spec = buildEncoderClassifier(config);
  const hf = a.hfOut ? { ...stateDictOfSpec(spec, config), tokenizerFiles, padTokenId: tokenizer?.padId } satisfies HfFolderContents : undefined;
  if (a.hfOut && hf) checkHfFolder(a.hfOut, hf);

  mkdirSync(path.dirname(path.resolve(a.out)), { recursive: true });
  writeModel(a.out, spec);
  if (!sameFolder) writeAtomically(configFile, [Buffer.from(JSON.stringify(hfConfigJson(config, { padTokenId: tokenizer?.padId }), null, 2) + '\n')]);
  const params = spec.graph.initializers.reduce((s, t) => s + t.values.length, 0);
  write(`built ${config.family}: ${config.numLayers} layers, hidden ${config.hiddenSize}, ${config.numHeads} heads, vocabulary ${config.vocabSize}${tokenizer ? ' (the tokenizer\'s)' : ''}, ${config.numLabels} labels, ${formatCount(params)} parameters`);
  write(`wrote ${path.resolve(a.out)} (${formatBytes(statSync(a.out).size)})${sameFolder ? '' : ` and ${configFile}`}`);
  if (a.hfOut && hf) {
    const r = writeHfFolder(a.hfOut, hf);
    write(`wrote ${r.dir}${path.sep}: ${r.files.join(', ')}${r.replaced ? ' (replacing its earlier output)' : ''}`);
  }
  return 0;
}
