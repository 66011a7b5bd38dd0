// Where the worker bundle is for a host that is not the extension (the CLI, benchmarks, tests):
// dist/worker.js beside the bundled CLI, or the built one when the code runs from source.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export function workerScript(): string {
  const candidates = [path.join(__dirname, 'worker.js'), path.resolve(__dirname, '../../dist/worker.js')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`the worker is missing (looked for ${candidates.join(', ')}): run npm run build`);
  return found;
}
