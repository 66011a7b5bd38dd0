// Command-line parsing shared by every command: flags, numbers, and the usage error (exit code 2).
import { UserError } from '../core/errors';

export class UsageError extends UserError {
  constructor(problem: string) {
    super('usage', problem);
    this.name = 'UsageError';
  }
}

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
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number (got '${v}')`);
  return n;
}

export function nonNegativeInt(v: string | boolean | undefined, name: string, fallback: number): number;
export function nonNegativeInt(v: string | boolean | undefined, name: string): number | undefined;
export function nonNegativeInt(v: string | boolean | undefined, name: string, fallback?: number): number | undefined {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number >= 0 (got '${v}')`);
  return n;
}

/** A number >= 0 (rates, ratios, norms); undefined when the flag is absent. */
export function nonNegative(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number >= 0 (got '${v}')`);
  return n;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(v: string | boolean | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new UsageError(`--${name} must be ${allowed.join(', ')} (got '${v}')`);
  return v as T;
}

/** How the core names an option (camelCase) as this CLI's flag: maxSteps -> --max-steps. */
export function flagName(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** A core message reworded for the command line: `option 'maxSteps'` becomes `--max-steps`. */
export function cliWording(message: string): string {
  return message.replace(/option '([A-Za-z]+)'/g, (_, o: string) => flagName(o));
}
