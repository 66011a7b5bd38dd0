// Command-line parsing shared by every command: flags, numbers, and the usage error (exit code 2).
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
