// A model as a Hugging Face folder transformers can load: config.json, model.safetensors (Hugging
// Face names and layouts, float32, `__metadata__ {format: pt}` which transformers requires), and
// the tokenizer's files.
//
// Which folders may be written: a new folder, an empty one, or one that holds none of the files
// this writes. A folder that does hold some is accepted only when it is this writer's earlier
// output, known by its model.safetensors carrying `producer: model-compression-lab` in its
// metadata; then those files are replaced and anything else there is left alone. The folder of a
// model being converted is always refused, as is any file the job reads.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { OutputConflictError, UnsupportedModelError } from '../errors';
import { writeAtomically } from '../io/atomic-write';
import { checkOutputs } from '../io/output-guard';
import { encodeSafetensors } from '../io/safetensors-writer';
import type { ModelSpec } from '../onnx/model-spec';
import type { EncoderConfig } from '../onnx/bert-builder';
import { TextInputError } from '../text/tokenizer';
import { fitProblem, fitStateDict, list } from './from-state-dict';
import { hfConfigJson, settingsFromHfConfig } from './hf-config';
import type { StateDict } from './state-dict';

export const PRODUCER = 'model-compression-lab';

/** Files that travel with a tokenizer.json when they sit beside it. */
const TOKENIZER_COMPANIONS = ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'spiece.model'];

export interface HfFolderContents {
  config: EncoderConfig;
  /** Hugging Face names and layouts, exactly the builder's initializers. */
  tensors: StateDict;
  /** Copied by name; a tokenizer.json brings its companions (vocab.txt, tokenizer_config.json, ...) along. */
  tokenizerFiles?: string[];
  /** id2label in id order. */
  labels?: string[];
  /** config.json's pad_token_id (the tokenizer's). */
  padTokenId?: number;
  /** What the folder is made from (model files, folders): never written, and their folders are refused. */
  sources?: string[];
}

export interface HfFolderResult {
  dir: string;
  /** Names written, in the folder. */
  files: string[];
  /** True when the folder was an earlier output of this writer and its files were replaced. */
  replaced: boolean;
}

interface Plan {
  target: string;
  names: string[];
  tokenizer: Array<{ name: string; from: string }>;
  replaced: boolean;
  configJson: Buffer;
}

/**
 * Everything writeHfFolder refuses, checked without writing: a caller with several outputs asks
 * first, so a refused folder leaves nothing half done.
 */
export function checkHfFolder(dir: string, contents: HfFolderContents): void {
  plan(dir, contents);
}

function plan(dir: string, contents: HfFolderContents): Plan {
  const target = path.resolve(dir);
  const { config, tensors } = contents;
  const fit = fitStateDict(config, tensors);
  const problem = fitProblem(fit);
  if (problem) throw new UnsupportedModelError(target, `the tensors do not fit the ${config.family} classifier: ${problem}`);
  if (fit.extra.length) throw new UnsupportedModelError(target, `tensors transformers would not expect in a ${config.family} classifier: ${list(fit.extra)}`);

  const tokenizer = tokenizerCopies(contents.tokenizerFiles ?? []);
  const names = ['config.json', 'model.safetensors', ...tokenizer.map((t) => t.name)];
  const clash = tokenizer.find((t) => t.name === 'config.json' || t.name === 'model.safetensors');
  if (clash) throw new OutputConflictError(clash.from, `a tokenizer file cannot be named ${clash.name}: the model's own file has that name`);

  if (existsSync(target) && !statSync(target).isDirectory()) throw new OutputConflictError(target, 'is a file; give a folder for the Hugging Face model');
  const sources = (contents.sources ?? []).map((s) => path.resolve(s));
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  for (const s of sources) {
    const folder = isDir(s) ? s : path.dirname(s);
    if (existsSync(target) && existsSync(folder) && realpathSync(folder) === realpathSync(target)) {
      throw new OutputConflictError(target, 'is the folder of the model it is made from; choose another folder');
    }
  }
  checkOutputs(
    [...sources.filter((s) => !isDir(s)).map((file) => ({ role: 'the source model', file })), ...tokenizer.map((t) => ({ role: 'the tokenizer', file: t.from }))],
    names.map((n) => ({ role: `the Hugging Face folder's ${n}`, file: path.join(target, n) })),
  );
  const present = existsSync(target) ? names.filter((n) => existsSync(path.join(target, n))) : [];
  if (present.length > 0 && !isOwnOutput(target)) {
    throw new OutputConflictError(target, `already holds ${present.join(', ')}, not an earlier output of compression-lab; choose a new or empty folder`);
  }
  const labels = contents.labels && contents.labels.length === config.numLabels ? contents.labels : undefined;
  const configJson = Buffer.from(JSON.stringify(hfConfigJson(config, { labels, padTokenId: contents.padTokenId, file: path.join(target, 'config.json') }), null, 2) + '\n');
  return { target, names, tokenizer, replaced: present.length > 0, configJson };
}

/** Writes `dir` as a Hugging Face model folder (see the file comment for which folders it accepts). */
export function writeHfFolder(dir: string, contents: HfFolderContents): HfFolderResult {
  const { target, names, tokenizer, replaced, configJson } = plan(dir, contents);
  const weights = encodeSafetensors([...contents.tensors].map(([name, t]) => ({ name, shape: t.dims, data: t.values })), { format: 'pt', producer: PRODUCER });

  const writeAll = (into: string) => {
    // The weights first: a folder whose config.json is new always has its weights beside it.
    writeAtomically(path.join(into, 'model.safetensors'), weights);
    for (const t of tokenizer) writeAtomically(path.join(into, t.name), [t.name === 'tokenizer_config.json' ? tokenizerConfig(t.from, tokenizer) : readFileSync(t.from)]);
    writeAtomically(path.join(into, 'config.json'), [configJson]);
  };
  if (existsSync(target)) writeAll(target);
  else {
    // A new folder appears whole or not at all.
    mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
    mkdirSync(tmp);
    try {
      writeAll(tmp);
      renameSync(tmp, target);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  return { dir: target, files: names, replaced };
}

/**
 * A builder ModelSpec's weights as a state dict (its initializers already carry Hugging Face names
 * and layouts) with the config its metadata records, so a trained or distilled spec can be
 * written as a Hugging Face folder. `config` is needed only for a spec without that metadata.
 */
export function stateDictOfSpec(spec: ModelSpec, config?: EncoderConfig): { config: EncoderConfig; tensors: StateDict } {
  let c = config;
  if (!c) {
    const meta = spec.metadata?.['compression_lab.config'];
    if (!meta) throw new Error('the spec has no compression_lab.config metadata (it was not made by the graph builder); pass its EncoderConfig');
    const s = settingsFromHfConfig(JSON.parse(meta) as Record<string, unknown>, 'compression_lab.config metadata');
    if (!s.family) throw new Error('the compression_lab.config metadata names no model_type');
    c = { ...s.values, family: s.family } as EncoderConfig;
  }
  const tensors: StateDict = new Map();
  for (const init of spec.graph.initializers) {
    if (init.dtype !== 'float32' || !(init.values instanceof Float32Array)) throw new Error(`initializer '${init.name}' is ${init.dtype}; a Hugging Face export takes float32 weights`);
    tensors.set(init.name, { dims: [...init.dims], values: init.values });
  }
  const fit = fitStateDict(c, tensors);
  const problem = fitProblem(fit) ?? (fit.extra.length ? `initializers the ${c.family} builder does not emit: ${list(fit.extra)}` : undefined);
  if (problem) throw new Error(`the spec is not the builder's ${c.family} classifier for its config: ${problem}`);
  return { config: c, tensors };
}

function tokenizerCopies(files: string[]): Array<{ name: string; from: string }> {
  const out: Array<{ name: string; from: string }> = [];
  const add = (from: string, required: boolean) => {
    const abs = path.resolve(from);
    if (!existsSync(abs) || !statSync(abs).isFile()) {
      if (required) throw new TextInputError(abs, 'no such tokenizer file');
      return;
    }
    const name = path.basename(abs);
    const same = out.find((o) => o.name === name);
    if (same && realpathSync(same.from) !== realpathSync(abs)) throw new TextInputError(abs, `two tokenizer files are named ${name} (${same.from})`);
    if (!same) out.push({ name, from: abs });
  };
  for (const f of files) add(f, true);
  for (const f of [...out]) {
    if (f.name === 'tokenizer.json') for (const c of TOKENIZER_COMPANIONS) add(path.join(path.dirname(f.from), c), false);
  }
  return out;
}

/**
 * tokenizer_config.json as copied, naming the tokenizer class when it does not: without one,
 * AutoTokenizer picks the model family's own (an ALBERT folder with a WordPiece vocabulary would
 * get ALBERT's SentencePiece tokenizer and its missing pad token).
 */
function tokenizerConfig(file: string, all: Array<{ name: string; from: string }>): Buffer {
  const raw = readFileSync(file);
  let json: unknown;
  try { json = JSON.parse(raw.toString('utf8')); } catch { return raw; }
  if (!json || typeof json !== 'object' || Array.isArray(json) || 'tokenizer_class' in json) return raw;
  const tok = all.find((t) => t.name === 'tokenizer.json');
  let model: Record<string, unknown> | undefined;
  try { model = tok ? (JSON.parse(readFileSync(tok.from, 'utf8')) as { model?: Record<string, unknown> }).model : undefined; } catch { /* left as it is */ }
  // Older tokenizer.json files carry no model type: WordPiece is the one with a subword prefix and no merges.
  const wordPiece = model?.type === 'WordPiece' || (model?.type === undefined && typeof model?.continuing_subword_prefix === 'string' && model.merges === undefined && !Array.isArray(model.vocab));
  if (!wordPiece) return raw;
  return Buffer.from(JSON.stringify({ ...json, tokenizer_class: 'BertTokenizer' }, null, 2) + '\n');
}

/** Whether the folder's model.safetensors says this writer made it. */
function isOwnOutput(dir: string): boolean {
  const file = path.join(dir, 'model.safetensors');
  if (!existsSync(file)) return false;
  let fd: number;
  try { fd = openSync(file, 'r'); } catch { return false; }
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) !== 8) return false;
    const n = Number(len.readBigUInt64LE(0));
    if (n <= 0 || n > 16 * 1024 * 1024) return false;
    const header = Buffer.alloc(n);
    if (readSync(fd, header, 0, n, 8) !== n) return false;
    const meta = (JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, unknown> }).__metadata__;
    return meta?.producer === PRODUCER;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
