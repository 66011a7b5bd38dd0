import { statSync } from 'node:fs';
import { analyzeModel, type ModelCard } from '../core/analysis/model-card';
import type { FlopsReport } from '../core/analysis/flops';
import type { ModelFile } from '../core/model';
import { openModel } from '../core/open-model';

/**
 * Inspection inside the worker: keeps the last few models it read (keyed by path, size and
 * mtime), so changing the card's sequence length re-analyses without re-reading the file.
 */
export class InspectService {
  private cache = new Map<string, ModelFile>();

  constructor(private readonly capacity = 4) {}

  private key(path: string): string {
    try {
      const st = statSync(path);
      return `${path}\0${st.size}\0${st.mtimeMs}`;
    } catch {
      return path;
    }
  }

  private async model(path: string, onProgress?: (fraction: number) => void): Promise<ModelFile> {
    const key = this.key(path);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const m = await openModel(path, { onProgress });
    this.cache.set(key, m);
    while (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value as string);
    return m;
  }

  async inspect(path: string, seq: number, onProgress?: (fraction: number) => void): Promise<ModelCard> {
    return analyzeModel(await this.model(path, onProgress), { seq });
  }

  async flops(path: string, seq: number): Promise<FlopsReport> {
    return analyzeModel(await this.model(path), { seq }).flops;
  }
}
