// `compression-lab report`: the teacher, its students and their int8 variants side by side, from
// saved runs and the model files, as a table (Markdown by default), CSV, JSON or one HTML file.
import * as path from 'node:path';
import { buildReport } from '../core/report/build-report';
import { reportHtml } from '../core/report/render-html';
import { reportCsv, reportJson, reportMarkdown } from '../core/report/render-text';
import { writeAtomically } from '../core/io/atomic-write';
import { checkOutputs } from '../core/io/output-guard';
import { parseArgs, positiveInt, UsageError } from './args';
import { DEFAULT_RUNS_DIR } from './job-terminal';

export interface ReportCommand {
  inputs: string[];
  format: 'markdown' | 'html' | 'csv' | 'json';
  out?: string;
  config: { batch: number; seq: number; threads?: number };
}

export function parseReport(argv: string[]): ReportCommand {
  const { positional, flags } = parseArgs(argv, { markdown: 'boolean', html: 'boolean', csv: 'boolean', json: 'boolean', out: 'string', batch: 'string', seq: 'string', threads: 'string' });
  const formats = (['markdown', 'html', 'csv', 'json'] as const).filter((f) => flags[f]);
  if (formats.length > 1) throw new UsageError(`give one of --markdown, --html, --csv, --json (got ${formats.map((f) => `--${f}`).join(' and ')})`);
  const out = typeof flags.out === 'string' ? flags.out : undefined;
  const format = formats[0] ?? (out?.toLowerCase().endsWith('.html') ? 'html' : out?.toLowerCase().endsWith('.csv') ? 'csv' : out?.toLowerCase().endsWith('.json') ? 'json' : 'markdown');
  return {
    inputs: positional.length ? positional : [DEFAULT_RUNS_DIR],
    format, out,
    config: { batch: positiveInt(flags.batch, 'batch', 1), seq: positiveInt(flags.seq, 'seq', 128), ...(flags.threads !== undefined ? { threads: positiveInt(flags.threads, 'threads', 1) } : {}) },
  };
}

export async function runReport(cmd: ReportCommand, write: (s: string) => void): Promise<number> {
  if (cmd.out) checkOutputs(cmd.inputs.map((file) => ({ role: 'an input of the report', file })), [{ role: 'the report', file: cmd.out }]);
  const report = await buildReport(cmd.inputs, cmd.config);
  const text = cmd.format === 'html' ? reportHtml(report) : cmd.format === 'csv' ? reportCsv(report) : cmd.format === 'json' ? reportJson(report) : reportMarkdown(report);
  if (cmd.out) {
    writeAtomically(cmd.out, [Buffer.from(text, 'utf8')]);
    process.stderr.write(`wrote ${path.resolve(cmd.out)} (${report.rows.length} models)\n`);
  } else write(text.trimEnd());
  return 0;
}
