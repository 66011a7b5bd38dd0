// What a benchmark result needs beside its numbers to be reproduced and compared: the machine,
// the runtime versions, when; and the exact model bytes (sha256, streamed).
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import * as os from 'node:os';
import type { EnvironmentRecord } from './types';

/**
 * onnxruntime-node's version from its package.json, so the host can record it without loading the
 * native runtime (the worker loads the very same package).
 */
export function onnxruntimeVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeEnvironment(now = new Date()): EnvironmentRecord {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model?.trim() || 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntime: onnxruntimeVersion(),
    timestamp: now.toISOString(),
  };
}

/** sha256 over the files in order (the model file, then its external data), read as a stream. */
export async function hashFiles(files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    await new Promise<void>((resolve, reject) => {
      createReadStream(file, { highWaterMark: 1 << 20 })
        .on('data', (chunk) => hash.update(chunk))
        .on('end', resolve)
        .on('error', reject);
    });
  }
  return hash.digest('hex');
}

/** The worker's peak resident set in MB: VmHWM (getrusage's maxrss can carry the parent's RSS across fork). */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS / 1024;
}
