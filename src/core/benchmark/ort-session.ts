// onnxruntime sessions for benchmarks: the user's settings as session options, and a model source
// that onnxruntime can load (legacy opset models upgraded in memory, as elsewhere in the project).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { upgradeLegacyOpset } from '../onnx/legacy-opset-upgrade';
import { toOrtTensor } from '../ort/ort-tensors';
import type { LoadedTensor } from '../tensor-values';
import type { SessionSettings } from './types';

export type OrtFeeds = Record<string, ort.Tensor>;

/** Execution providers this onnxruntime-node build can use here ('cpu' always). */
export function availableProviders(): string[] {
  return ort.listSupportedBackends().filter((b) => b.bundled || b.name === 'cpu').map((b) => b.name);
}

/** The settings a benchmark runs with unless told otherwise (the CLI's and the extension's defaults). */
export const DEFAULT_SESSION_SETTINGS: SessionSettings = { graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, executionProvider: 'cpu' };

export function sessionOptions(settings: SessionSettings, threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    ...(settings.interOpThreads ? { interOpNumThreads: settings.interOpThreads } : {}),
    graphOptimizationLevel: settings.graphOptimizationLevel,
    executionMode: settings.executionMode,
    enableCpuMemArena: settings.enableCpuMemArena,
    executionProviders: [settings.executionProvider],
    // Errors only: onnxruntime's warnings (legacy opsets, unused initializers) would flood the worker's stderr.
    logSeverityLevel: 3,
  };
}

/** Prefixes onnxruntime's message with the file when it does not name it already. */
export function namingFile(file: string, e: unknown): Error {
  const message = e instanceof Error ? e.message : String(e);
  return new Error(message.includes(file) ? message : `${file}: ${message}`);
}

/**
 * Creates this model's sessions. When onnxruntime has no kernels for the model's (pre-7) opset,
 * the model is upgraded in memory once and every later session is made from the upgraded bytes.
 */
export class SessionFactory {
  private source: string | Uint8Array;
  /** What the legacy-opset upgrade changed, when it ran. */
  upgraded: string[] = [];

  constructor(private readonly file: string) {
    this.source = file;
  }

  /** A new session and the milliseconds its creation took. */
  async create(options: ort.InferenceSession.SessionOptions): Promise<{ session: ort.InferenceSession; ms: number }> {
    try {
      return await this.timed(options);
    } catch (e) {
      const message = (e as Error).message;
      if (typeof this.source !== 'string' || !message.includes('Could not find an implementation for')) throw namingFile(this.file, e);
      const { bytes, changes } = upgradeLegacyOpset(readFileSync(this.file), this.file);
      if (changes.length === 0) throw namingFile(this.file, e);
      this.source = bytes;
      this.upgraded = changes;
      try {
        return await this.timed(options);
      } catch (e2) {
        throw namingFile(this.file, e2);
      }
    }
  }

  private async timed(options: ort.InferenceSession.SessionOptions): Promise<{ session: ort.InferenceSession; ms: number }> {
    const t0 = performance.now();
    const session = typeof this.source === 'string'
      ? await ort.InferenceSession.create(this.source, options)
      : await ort.InferenceSession.create(this.source, options);
    return { session, ms: performance.now() - t0 };
  }
}

export function toFeeds(tensors: LoadedTensor[]): OrtFeeds {
  const feeds: OrtFeeds = {};
  for (const t of tensors) feeds[t.name] = toOrtTensor(t);
  return feeds;
}
