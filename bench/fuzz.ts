// npm run fuzz [-- --cases N --seed S --timeout MS | --replay <seed:index> [--keep]]
// Seeded mutations (bit flips, truncations, splices, length-field edits) of the shared models in
// all three formats, fed to every reader and to openModel in a worker thread under a watchdog.
// Prints a table per format and mutation kind, then every distinct failure with a replay
// command. Exits 1 on any uncaught exception or hang.
import { cpus } from 'node:os';
import { parseCaseId } from '../test/fuzz/cases';
import { describeFailure, failures, formatFailures, formatRetried, formatSlowest, formatTable, formatTargets, summarize } from '../test/fuzz/report';
import { DEFAULT_TIMEOUT_MS, runCases } from '../test/fuzz/runner';

interface Args {
  cases: number;
  seed: string;
  timeoutMs: number;
  replay?: string;
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { cases: 10_000, seed: '1', timeoutMs: DEFAULT_TIMEOUT_MS, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--cases') args.cases = Number(value());
    else if (a === '--seed') args.seed = value();
    else if (a === '--timeout') args.timeoutMs = Number(value());
    else if (a === '--replay') args.replay = value();
    else if (a === '--keep') args.keep = true;
    else throw new Error(`unknown option ${a} (options: --cases N, --seed S, --timeout MS, --replay SEED:INDEX, --keep)`);
  }
  if (!Number.isSafeInteger(args.cases) || args.cases < 1) throw new Error('--cases must be a positive integer');
  if (!(args.timeoutMs > 0)) throw new Error('--timeout must be a positive number of milliseconds');
  return args;
}

const replayCommand = (id: string) => `npm run fuzz -- --replay ${id} --keep`;

async function replay(args: Args & { replay: string }): Promise<number> {
  const { seed, index } = parseCaseId(args.replay);
  const [r] = await runCases({ seed, indices: [index], timeoutMs: args.timeoutMs, keep: args.keep });
  console.log(describeFailure(r, replayCommand));
  if (args.keep) console.log(`\nthe case's files are kept in ${r.file.replace(/\/[^/]*$/, '')}`);
  return r.outcome === 'uncaught' || r.outcome === 'hang' ? 1 : 0;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.replay !== undefined) return replay({ ...args, replay: args.replay });
  const t0 = Date.now();
  const indices = Array.from({ length: args.cases }, (_, i) => i);
  const results = await runCases({
    seed: args.seed,
    indices,
    timeoutMs: args.timeoutMs,
    onResult(r, done) {
      if (r.outcome === 'uncaught' || r.outcome === 'hang') process.stderr.write(`\n${r.outcome}: ${r.id} ${r.format}/${r.kind} ${r.error?.name ?? ''} ${r.why ?? ''}\n`);
      if (done % 500 === 0 || done === indices.length) process.stderr.write(`\r${done}/${indices.length} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    },
  });
  process.stderr.write('\n');
  const s = summarize(results);
  const bad = failures(results);
  console.log(`command: npm run fuzz -- --cases ${args.cases} --seed ${args.seed} --timeout ${args.timeoutMs}`);
  console.log(`${results.length} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s; node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}; one worker thread, ${args.timeoutMs} ms per case\n`);
  console.log(formatTable(results));
  console.log('');
  console.log(formatTargets(results));
  console.log(`\nslowest cases:\n${formatSlowest(results)}`);
  console.log(`\n${formatRetried(results)}`);
  if (bad.length) console.log(`\n${bad.length} failing cases:\n\n${formatFailures(results, replayCommand)}`);
  console.log(`\n${s.uncaught} uncaught, ${s.hangs} hangs, ${s.userErrors} user errors, ${s.ok} read fine: ${bad.length ? 'FAIL' : 'PASS'}`);
  return bad.length ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 2;
});
