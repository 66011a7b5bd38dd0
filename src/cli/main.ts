import { ModelReadError } from '../core/model';
import { runInspect } from './inspect-command';
import { runDemo } from './demo-command';

const USAGE = `usage: compression-lab <command> [options]

commands:
  inspect <model> [--seq N] [--json] [--tensors] [--format onnx|safetensors|pytorch]
      What is inside a model file or Hugging Face folder: family and evidence, parameters by
      component and per layer, shared weights, dtypes, bytes, FLOPs at --seq tokens (default 128).
  demo [--out DIR]
      Builds a BERT teacher and its DistilBERT-, TinyBERT-, ALBERT- and MobileBERT-style students
      with the graph builder, then inspects them side by side.
`;

export class UsageError extends Error {}

/** A small flag parser: --flag value, --flag=value, boolean flags; unknown flags are errors. */
export function parseArgs(argv: string[], spec: Record<string, 'string' | 'boolean'>): { positional: string[]; flags: Record<string, string | boolean> } {
  const positional: string[] = [];
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'boolean') { flags[name] = true; continue; }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`--${name} needs a value`);
    flags[name] = v;
  }
  return { positional, flags };
}

export function positiveInt(v: string | boolean | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number (got '${v}')`);
  return n;
}

export async function main(argv: string[], write: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  const [command, ...rest] = argv;
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
        const { flags } = parseArgs(rest, { out: 'string' });
        await runDemo({ out: flags.out as string | undefined }, write);
        return 0;
      }
      case undefined: case 'help': case '--help': case '-h':
        write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`error: ${e.message}\n\n${USAGE}`); return 2; }
    if (e instanceof ModelReadError) { process.stderr.write(`error: ${e.message}\n`); return 1; }
    process.stderr.write(`error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
