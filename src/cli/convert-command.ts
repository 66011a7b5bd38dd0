// `compression-lab convert`: any recognised BERT-family model (the builder's ONNX, PyTorch's
// export, safetensors, pytorch_model.bin, a Hugging Face folder) as the graph builder's ONNX, and
// optionally as a Hugging Face folder. From an ONNX source the result is checked by running both.
import * as path from 'node:path';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { openModel } from '../core/open-model';
import { readStateDict } from '../core/convert/state-dict';
import { buildFromStateDict } from '../core/convert/from-state-dict';
import { checkHfFolder, writeHfFolder, type HfFolderContents } from '../core/convert/hf-folder';
import { serializeModel, writeModel } from '../core/onnx/onnx-writer';
import { checkOutputs } from '../core/io/output-guard';
import { loadTokenizer } from '../core/text/tokenizer';
import { UnsupportedModelError } from '../core/errors';
import { formatBytes, formatCount } from '../core/format';
import { parseArgs, UsageError } from './args';

export interface ConvertArgs {
  model: string;
  out: string;
  hfOut?: string;
  tokenizer?: string;
  check: boolean;
}

/** Logits of a converted ONNX graph may differ from the source's by float reassociation only. */
export const CHECK_TOLERANCE = 1e-4;

export function parseConvert(argv: string[]): ConvertArgs {
  const { positional, flags } = parseArgs(argv, { out: 'string', 'hf-out': 'string', tokenizer: 'string', 'no-check': 'boolean' });
  if (positional.length !== 1) throw new UsageError('convert takes one model (a file or a Hugging Face folder)');
  const out = flags.out as string | undefined;
  if (!out) throw new UsageError('convert needs --out model.onnx');
  if (!out.toLowerCase().endsWith('.onnx')) throw new UsageError(`--out must be an .onnx file (got '${out}')`);
  return { model: positional[0], out, hfOut: flags['hf-out'] as string | undefined, tokenizer: flags.tokenizer as string | undefined, check: !flags['no-check'] };
}

/** Tokenizer files a Hugging Face folder holds, to travel with its conversion. */
function folderTokenizer(model: string): string | undefined {
  const dir = existsSync(model) && statSync(model).isDirectory() ? model : path.dirname(model);
  const file = path.join(dir, 'tokenizer.json');
  return existsSync(file) ? file : undefined;
}

export async function runConvert(a: ConvertArgs, write: (s: string) => void): Promise<number> {
  const model = await openModel(a.model);
  const sd = readStateDict(model);
  const tokenizerFile = a.tokenizer ?? (a.hfOut ? folderTokenizer(model.path) : undefined);
  const tokenizer = tokenizerFile ? loadTokenizer(path.resolve(tokenizerFile)) : undefined;
  if (tokenizer && tokenizer.vocabSize > sd.config.vocabSize) {
    throw new UnsupportedModelError(tokenizer.file, `the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding table ${sd.config.vocabSize}`);
  }
  const inputs = [...model.files.map((f) => ({ role: 'the model', file: f.path })), ...(model.configPath ? [{ role: "the model's config.json", file: model.configPath }] : [])];
  checkOutputs(inputs, [{ role: '--out', file: a.out }]);

  const warnings = [...sd.warnings];
  const spec = buildFromStateDict(sd.config, sd.tensors, { source: model.weightsPath, warnings });
  const bytes = serializeModel(spec);
  const params = [...sd.tensors.values()].reduce((s, t) => s + t.values.length, 0);
  const c = sd.config;
  write(`read ${model.weightsPath} (${model.format}): ${c.family}, ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads, ${c.numLabels} labels, ${formatCount(params)} parameters`);

  if (a.check && model.format === 'onnx') {
    // Loaded here only: onnxruntime is for checking, the conversion itself does not need it.
    const { compareLogits } = await import('../core/convert/verify');
    const r = await compareLogits(model.weightsPath, bytes, c);
    if (!r.checked) write(`not checked: ${r.reason}`);
    else if (r.maxAbsDiff > CHECK_TOLERANCE) {
      throw new UnsupportedModelError(model.weightsPath, `the converted graph's logits differ from the source's by up to ${r.maxAbsDiff.toExponential(2)} (over ${CHECK_TOLERANCE}); nothing was written. The config may not describe this graph (heads, activation, normalization)`);
    } else write(`checked: logits equal the source graph's on ${r.batch} x ${r.seq} tokens (max |difference| ${r.maxAbsDiff.toExponential(1)})`);
  }

  const hfContents: HfFolderContents = {
    config: c, tensors: sd.tensors, labels: sd.labels, padTokenId: tokenizer?.padId,
    tokenizerFiles: tokenizer ? [tokenizer.file] : [], sources: [model.path, ...inputs.map((i) => i.file)],
  };
  if (a.hfOut) checkHfFolder(a.hfOut, hfContents);

  mkdirSync(path.dirname(path.resolve(a.out)), { recursive: true });
  writeModel(a.out, spec);
  write(`wrote ${path.resolve(a.out)} (${formatBytes(statSync(a.out).size)})`);
  if (a.hfOut) {
    const hf = writeHfFolder(a.hfOut, hfContents);
    write(`wrote ${hf.dir}${path.sep}: ${hf.files.join(', ')}${hf.replaced ? ' (replacing its earlier output)' : ''}`);
  }
  for (const w of warnings) write(`warning: ${w}`);
  return 0;
}
