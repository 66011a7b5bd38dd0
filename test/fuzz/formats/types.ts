import type { Rng } from '../prng';
import type { Span } from '../bytes';

export type FormatName = 'onnx' | 'safetensors' | 'pytorch';
export const FORMATS: readonly FormatName[] = ['onnx', 'safetensors', 'pytorch'];

export type MutationKind = 'bitflip' | 'truncate' | 'splice' | 'length';
export const KINDS: readonly MutationKind[] = ['bitflip', 'truncate', 'splice', 'length'];

/** One of the shared model files, with the structure the mutators aim at. */
export interface Seed<L> {
  /** e.g. "bert-mini/model.onnx", for notes. */
  name: string;
  bytes: Buffer;
  layout: L;
  marks: Landmarks;
}

export interface Mutation {
  bytes: Buffer;
  /** What was done, precisely enough to understand a failure without replaying it. */
  note: string;
}

/** Where bit flips land and where truncations and splices cut. */
export interface Landmarks {
  /** Header-like bytes: everything but bulk tensor data. */
  structure: Span[];
  /** Record and field boundaries. */
  points: number[];
}

export interface FormatFuzzer<L> {
  readonly format: FormatName;
  /** The weights file's name in a Hugging Face folder. */
  readonly folderName: string;
  /** Other names a user might give the file (openModel sniffs the format from some of them). */
  readonly fileNames: readonly string[];
  analyze(bytes: Buffer): L;
  landmarks(layout: L): Landmarks;
  mutate(kind: MutationKind, rng: Rng, seed: Seed<L>, donors: ReadonlyArray<Seed<L>>): Mutation;
}
