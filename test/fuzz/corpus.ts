// The seeds: the shared bert-family models in all three formats, read in place (never copied
// into the repo) and analysed once per worker, so a case costs only its mutation.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BERT_FAMILY, BERT_MODELS, requireShared } from '../helpers/paths';
import type { Rng } from './prng';
import { onnxFuzzer } from './formats/onnx';
import { safetensorsFuzzer } from './formats/safetensors';
import { pytorchFuzzer } from './formats/pytorch';
import type { FormatFuzzer, FormatName, Mutation, MutationKind, Seed } from './formats/types';

export const MODELS: readonly string[] = BERT_MODELS;

/** One format's seeds behind a layout-agnostic face. */
export interface FormatCorpus {
  readonly format: FormatName;
  readonly folderName: string;
  readonly fileNames: readonly string[];
  mutate(kind: MutationKind, rng: Rng, model: string): Mutation;
}

export interface Corpus {
  formats: Record<FormatName, FormatCorpus>;
  /** config.json of each model. */
  configs: Record<string, Buffer>;
}

function formatCorpus<L>(fuzzer: FormatFuzzer<L>): FormatCorpus {
  const seeds: Array<Seed<L>> = MODELS.map((model) => {
    const bytes = readFileSync(path.join(BERT_FAMILY, model, fuzzer.folderName));
    const layout = fuzzer.analyze(bytes);
    return { name: `${model}/${fuzzer.folderName}`, bytes, layout, marks: fuzzer.landmarks(layout) };
  });
  return {
    format: fuzzer.format,
    folderName: fuzzer.folderName,
    fileNames: fuzzer.fileNames,
    mutate(kind, rng, model) {
      const seed = seeds[MODELS.indexOf(model)];
      return fuzzer.mutate(kind, rng, seed, seeds.filter((s) => s !== seed));
    },
  };
}

export function loadCorpus(): Corpus {
  requireShared();
  return {
    formats: { onnx: formatCorpus(onnxFuzzer), safetensors: formatCorpus(safetensorsFuzzer), pytorch: formatCorpus(pytorchFuzzer) },
    configs: Object.fromEntries(MODELS.map((m) => [m, readFileSync(path.join(BERT_FAMILY, m, 'config.json'))])),
  };
}
