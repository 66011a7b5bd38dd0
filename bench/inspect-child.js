// One measurement in a fresh process, so its peak RSS is the inspector's (or the baseline's) alone.
// Peak RSS is VmHWM from /proc: getrusage's maxrss would include the parent's RSS, which a
// forked child inherits until exec.
//   node inspect-child.js read FILE            fs.readFile of the whole file
//   node inspect-child.js inspect FILE         first inspect in a fresh process (cold code)
//   node inspect-child.js inspect FILE WARMUP  inspect after one inspect of another model, as
//                                              in the extension's long-lived worker
'use strict';
const { readFile } = require('node:fs/promises');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const [mode, file, warmup] = process.argv.slice(2);

function peakRssMb() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

async function inspect(cli, f) {
  let out = '';
  const code = await cli.main(['inspect', f, '--json'], (s) => { out = s; });
  if (code !== 0) throw new Error(`inspect exited ${code}`);
  JSON.parse(out);
}

(async () => {
  const l0 = process.hrtime.bigint();
  const cli = mode === 'inspect' ? require(path.join(__dirname, '..', 'dist', 'cli.js')) : undefined;
  const loadMs = Number(process.hrtime.bigint() - l0) / 1e6;
  if (cli && warmup) await inspect(cli, warmup);
  const t0 = process.hrtime.bigint();
  if (cli) await inspect(cli, file);
  else if ((await readFile(file)).length === 0) throw new Error('empty');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(JSON.stringify({ ms, loadMs, maxRssMb: peakRssMb() }));
})().catch((e) => { process.stderr.write(String(e.stack || e)); process.exit(1); });
