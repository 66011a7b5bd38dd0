import { UserError } from '../core/errors';
import { runInspect } from './inspect-command';
import { runDemo } from './demo-command';
import { cliWording, parseArgs, positiveInt, UsageError } from './args';
import { parseBench, runBench } from './bench-command';
import { parseCompare, runCompare } from './compare-command';

const USAGE = `usage: compression-lab <command> [options]

commands:
  inspect <model> [--seq N] [--json] [--tensors] [--format onnx|safetensors|pytorch]
      What is inside a model file or Hugging Face folder: family and evidence, parameters by
      component and per layer, shared weights, dtypes, bytes, FLOPs at --seq tokens (default 128).
  demo [--out DIR] [--data train.tsv --eval dev.tsv --tokenizer tokenizer.json [--teacher T.onnx]] [--quick]
      The whole pipeline with no input: a generated review task where word order matters (and a
      tokenizer made for it), a BERT teacher trained on it, DistilBERT-, TinyBERT-, ALBERT- and
      MobileBERT-style students distilled from it, latency measured here, and the compression
      report (report.md, report.html) in --out (default demo-output). With --data the same
      pipeline runs on your files.
  bench <model...> [--batch 1,8] [--seq 32,128] [--threads 1,2] [--warmup N] [--runs N | --duration S]
        [--opt all|extended|basic|disabled] [--mode sequential|parallel] [--no-arena] [--provider cpu]
        [--text FILE --tokenizer tokenizer.json] [--json | --csv] [--out FILE|DIR] [--timeout S]
      Latency in onnxruntime over every batch x seq x threads, each model in its own worker process:
      p50/p90/p95/p99, mean, CV, throughput, peak RSS. Defaults: batch 1, seq 128, threads = all
      cores, 5 warm-up + 30 runs. --json prints one JSON object per configuration per line;
      --out saves the run (a folder: one run file per model).
  compare <model|run.json...> [--baseline M] [--batch 1] [--seq 128] [--threads N] [bench's options]
        [--markdown | --csv]
      Benchmarks each model (or reads saved runs) and prints params, size, FLOPs, p50, p95,
      throughput, and speed-up, params % and size % against the baseline (default: the first).
  train --model M.onnx --data D --out trained.onnx [--tokenizer tokenizer.json] [--text-column C]
        [--label-column C] [--max-length N] [--optimizer sgd|adamw] [--lr X] [--momentum X]
        [--weight-decay X] [--schedule linear|cosine|constant|constant_with_warmup] [--warmup-ratio X]
        [--batch-size N] [--epochs N | --max-steps N] [--seed N] [--no-shuffle] [--eval D2]
        [--log FILE.jsonl] [--clip-norm X (0: off)] [--grad-accumulation N] [--checkpoint FILE.safetensors]
        [--checkpoint-every N] [--resume FILE] [--threads N] [--dropout X] [--timeout S]
        [--runs-dir DIR | --no-run-record]
      Fine-tunes an ONNX sequence classifier (cross-entropy on its logits; autodiff over the ONNX
      graph, run in onnxruntime) on TSV, CSV or JSONL rows of text or pre-tokenized input_ids, in a
      worker process, and writes the trained model as a plain inference ONNX. --log writes one JSON
      line per step. Ctrl-C stops at the next step and writes a resumable checkpoint (--checkpoint,
      default <out>.ckpt.safetensors); a second Ctrl-C stops at once. The run is recorded in
      .compression-lab/runs/ (--runs-dir), where the editor's Runs view lists it.
  distill --recipe distilbert|tinybert|albert|mobilebert --teacher T.onnx --data D --out student.onnx [--eval D2]
        [--tokenizer tokenizer.json] [--layers N] [--teacher-layers 0,2,..] [--hidden N] [--heads N]
        [--intermediate N] [--activation gelu|gelu_new|relu] [--temperature T] [--alpha-kd X]
        [--alpha-ce X] [--alpha-cos X]
        [--stage1-epochs N | --stage1-steps N] [--stage1-lr X] [--logits-only] [--hf-out DIR]
        [--cache-dir DIR] [--cache-budget-mb N] [--embedding E] [--groups G] [--share-init mean|first]
        [--alpha-hidden X] [--bottleneck B] [--ffns F] [--progressive]
        and every option of train (same names, same meanings)
      Distils a smaller student from the teacher in a worker process. distilbert: the student keeps
      --layers of the teacher's layers (default half, evenly spaced with the first and last kept,
      or --teacher-layers), copied, and learns alpha-kd * T^2 * KL(teacher || student at T) +
      alpha-ce * CE(labels) + alpha-cos * (1 - cos) of the last hidden states (defaults T 2,
      0.5, 0.5, 1). tinybert: a fresh student (--layers, --hidden, default half; --heads, default
      the teacher's; --intermediate, default 4 x width; --activation, default gelu) learns layer
      by layer (student layer m <- teacher layer floor(m N / M):
      embedding, hidden-state through a learned projection, and attention-score MSE), then the
      teacher's soft targets at --temperature (default 1). Each step logs loss_<term>; each
      evaluation accuracy, agreement with the teacher and KL to it. albert: the teacher's width and
      depth with one shared layer per --groups (default 1, from the mean of the layers it replaces,
      or --share-init first) and embeddings factorised to --embedding (default half the width) by a
      truncated SVD of the teacher's; learns KD + CE + alpha-hidden * MSE of the mapped hidden
      states. mobilebert: the teacher's width and heads around a --bottleneck body (default width/4)
      with --ffns stacked FFNs (default 2); feature-map (MSE) and attention (KL) transfer, jointly
      or --progressive layer by layer, then KD + CE on the logits. The teacher's outputs are
      cached on disk (~/.cache/model-compression-lab, --cache-dir) so rows it has seen are not run again.
  report [<run.json | runs folder | model>...] [--markdown | --html | --csv | --json] [--out FILE]
        [--batch 1] [--seq 128] [--threads N]
      The compression report: one row per model (the teacher, each student, each int8 variant):
      how it is lightened, params and % of the teacher, size, FLOPs, p50 and speed-up, accuracy and
      % of the teacher's, training time; read from saved runs (default: .compression-lab/runs) and
      the model files, so it rebuilds without retraining. Missing and stale figures are marked.
      --html writes one self-contained file with the accuracy-latency frontier, parameters per
      component and the layer maps.
  quantize <model.onnx> --out model.int8.onnx [--per-channel] [--exclude NAME[,NAME..]]...
        [--weight-type int8|uint8] [--keep-head | --quantize-head] [--keep-embeddings] [--reduce-range | --no-reduce-range]
        [--eval D --tokenizer tokenizer.json] [--text-column C] [--label-column C] [--max-length N]
        [--threads N] [--json] [--timeout S] [--runs-dir DIR | --no-run-record]
      Dynamic int8 quantization, in a worker process: every MatMul and Gemm with a constant weight
      becomes DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul (onnxruntime fuses it into
      com.microsoft DynamicQuantizeMatMul), weights symmetric int8 per tensor (--per-channel: per
      output column), activations uint8 quantized at run time; embedding tables read by Gather become
      int8 too (one scale per table, dequantized after the lookup; --keep-embeddings: float). The
      classifier head stays float unless --quantize-head; --exclude keeps nodes or weights float by
      name. reduce_range (7-bit weights) defaults on where the CPU has no VNNI (x86 AVX2 saturates
      u8 x s8 pair sums). Prints what was quantized, bytes before and after, what onnxruntime fuses;
      --eval compares both models' accuracy and argmax agreement on labelled rows.
  convert <model> --out model.onnx [--hf-out DIR] [--tokenizer tokenizer.json] [--no-check]
      Any BERT, DistilBERT, ALBERT or MobileBERT sequence classifier (ONNX from the builder or
      PyTorch's exporter, .safetensors, pytorch_model.bin, a Hugging Face folder) as the graph
      builder's ONNX; --hf-out also writes a Hugging Face folder (config.json, model.safetensors,
      the tokenizer's files) that transformers loads. From an ONNX source both graphs are run and
      their logits compared (--no-check: not).
  build --family bert|distilbert|albert|mobilebert --layers N --hidden N --heads N --intermediate N
        (--vocab N | --tokenizer tokenizer.json) --labels N --out model.onnx [--max-positions N (512)]
        [--embedding N] [--groups N] [--bottleneck N] [--ffns N] [--normalization no_norm|layer_norm]
        [--seed N] [--hf-out DIR]
      A fresh, seeded sequence classifier from the graph builder, with config.json beside it;
      --hf-out also writes it as a Hugging Face folder with the tokenizer's files.

Every command: --debug prints the stack of an internal error. Exit codes: 0 done, 1 an error (the
message names the file and the problem), 2 a usage error, 130 stopped by Ctrl-C.
`;

export async function main(args: string[], write: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  // --debug anywhere: internal errors print their stack.
  const debug = args.includes('--debug');
  const [command, ...rest] = args.filter((a) => a !== '--debug');
  try {
    switch (command) {
      case 'inspect': {
        const { positional, flags } = parseArgs(rest, { seq: 'string', json: 'boolean', tensors: 'boolean', format: 'string' });
        if (positional.length !== 1) throw new UsageError('inspect takes one model path');
        const format = flags.format as string | undefined;
        if (format && !['onnx', 'safetensors', 'pytorch'].includes(format)) throw new UsageError(`--format must be onnx, safetensors or pytorch`);
        await runInspect({ path: positional[0], seq: positiveInt(flags.seq, 'seq', 128), json: !!flags.json, tensors: !!flags.tensors, format: format as never }, write);
        return 0;
      }
      case 'demo': {
        const { flags } = parseArgs(rest, { out: 'string', data: 'string', eval: 'string', tokenizer: 'string', teacher: 'string', quick: 'boolean' });
        const str = (k: string) => (typeof flags[k] === 'string' ? (flags[k] as string) : undefined);
        await runDemo({ out: str('out'), data: str('data'), eval: str('eval'), tokenizer: str('tokenizer'), teacher: str('teacher'), quick: !!flags.quick }, write);
        return 0;
      }
      case 'bench':
        return await runBench(parseBench(rest), write);
      case 'compare':
        return await runCompare(parseCompare(rest), write);
      case 'train': {
        // Loaded on demand: training pulls in onnxruntime, which inspect and the others do not need.
        const { parseTrain, runTrain } = await import('./train-command');
        return await runTrain(parseTrain(rest), write);
      }
      case 'distill': {
        const { parseDistill, runDistill } = await import('./distill-command');
        return await runDistill(parseDistill(rest), write);
      }
      case 'report': {
        const { parseReport, runReport } = await import('./report-command');
        return await runReport(parseReport(rest), write);
      }
      case 'quantize': {
        const { parseQuantize, runQuantize } = await import('./quantize-command');
        return await runQuantize(parseQuantize(rest), write);
      }
      case 'convert': {
        const { parseConvert, runConvert } = await import('./convert-command');
        return await runConvert(parseConvert(rest), write);
      }
      case 'build': {
        const { parseBuild, runBuild } = await import('./build-command');
        return await runBuild(parseBuild(rest), write);
      }
      case undefined: case 'help': case '--help': case '-h':
        write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof UserError && e.code === 'bad-option')) {
      process.stderr.write(`error: ${cliWording(e.message)}\n\nrun 'compression-lab help' for the options\n`);
      return 2;
    }
    // Errors about the user's files and settings: the message says it all, a stack would not help.
    if (e instanceof UserError) { process.stderr.write(`error: ${cliWording(e.message)}\n`); return 1; }
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(debug ? `internal error: ${err.stack ?? err.message}\n` : `internal error: ${err.message}\n(this is a bug in compression-lab; run again with --debug for the stack)\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
