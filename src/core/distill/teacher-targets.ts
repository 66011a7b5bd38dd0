// The teacher's targets for each training step: from the on-disk cache when the batch's rows are
// there, else from the teacher (and then into the cache). Signals too large for the cache budget
// are computed at every step instead; logits, tiny, are always cached.
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Feeds } from '../training/autodiff/probe';
import type { TokenizedDataset } from '../training/data/batcher';
import type { Batch } from '../training/types';
import { DISTILL_DEFAULTS, type DistillOptions } from './distill-options';
import type { Teacher, TeacherSession, WantedSignal } from './teacher';
import { cacheBytes, TeacherCache } from './teacher-cache';

/** Where cached teacher outputs live unless told: the user's cache folder, not the project. */
export function defaultCacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'model-compression-lab', 'teacher-outputs');
}

/** What the teacher sees of the data: its rows' tokens exactly (ids, types, masks, lengths). */
export function dataKey(d: TokenizedDataset): string {
  const h = createHash('sha256');
  for (const a of [d.ids, d.offsets, d.typeIds, d.mask]) {
    h.update(a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : Buffer.from('-'));
    h.update('|');
  }
  h.update(String(d.maxLength));
  return h.digest('hex');
}

const FLUSH_EVERY = 50;

export class TeacherTargets {
  private puts = 0;
  private hits = 0;
  private misses = 0;

  private constructor(
    private readonly session: TeacherSession,
    private readonly wanted: WantedSignal[],
    private readonly cached: Set<string>,
    private readonly cache: TeacherCache | undefined,
    private readonly dir: string | undefined,
    readonly note: string | undefined,
  ) {}

  static async open(teacher: Teacher, wanted: WantedSignal[], train: TokenizedDataset, session: TeacherSession, o: Pick<DistillOptions, 'cacheDir' | 'cacheBudgetMb'>): Promise<TeacherTargets> {
    const lengths = new Int32Array(train.size);
    for (let r = 0; r < train.size; r++) lengths[r] = train.offsets[r + 1] - train.offsets[r];
    const budget = (o.cacheBudgetMb ?? DISTILL_DEFAULTS.cacheBudgetMb) * 1024 * 1024;
    const all = cacheBytes(wanted, lengths);
    const toCache = all <= budget ? wanted : wanted.filter((w) => w.kind === 'logits');
    let note = all > budget
      ? `the teacher's layer signals for this data would take ${(all / 1024 / 1024).toFixed(0)} MB, past the ${(budget / 1024 / 1024).toFixed(0)} MB cache budget (option 'cacheBudgetMb'): they are computed at every step; logits are cached`
      : undefined;
    const root = o.cacheDir ?? defaultCacheRoot();
    const key = createHash('sha256').update(`${teacher.sha256}|${dataKey(train)}|${toCache.map((w) => `${w.key}:${w.value}`).join(',')}`).digest('hex').slice(0, 32);
    const opened = toCache.length ? TeacherCache.open(root, key, toCache, lengths) : {};
    if (opened.reason) note = `${note ? `${note}; ` : ''}the teacher's outputs are not cached: ${opened.reason}`;
    return new TeacherTargets(session, wanted, new Set(opened.cache ? toCache.map((w) => w.key) : []), opened.cache, opened.cache ? path.join(root, key) : undefined, note);
  }

  /** Tensors for the training graph's `teacher_<key>` inputs, for this batch. */
  async feeds(inputs: readonly string[], batch: Batch, rows: Int32Array): Promise<Feeds> {
    const keys = inputs.filter((n) => n.startsWith('teacher_')).map((n) => n.slice('teacher_'.length));
    if (keys.length === 0) return {};
    const fromCache = this.cache && keys.every((k) => this.cached.has(k)) && this.cache.has(rows);
    let values: Record<string, Float32Array>;
    if (fromCache) {
      values = this.cache!.get(rows, batch.seq);
      this.hits++;
    } else {
      values = await this.session.run(batch);
      this.misses++;
      if (this.cache && !this.cache.has(rows)) {
        const subset: Record<string, Float32Array> = {};
        for (const k of this.cached) subset[k] = values[k];
        this.cache.put(rows, batch.seq, subset);
        if (++this.puts % FLUSH_EVERY === 0) this.cache.flush();
      }
    }
    const feeds: Feeds = {};
    for (const k of keys) {
      const w = this.wanted.find((x) => x.key === k);
      if (!w) throw new Error(`no teacher signal '${k}' was prepared`);
      const v = values[k];
      const dims = w.kind === 'logits' ? [batch.batch, w.width] : w.kind === 'tokens' ? [batch.batch, batch.seq, w.width] : [batch.batch, w.width, batch.seq, batch.seq];
      feeds[`teacher_${k}`] = new ort.Tensor('float32', v, dims);
    }
    return feeds;
  }

  flush(): void {
    this.cache?.flush();
  }

  close(): void {
    this.cache?.close();
  }

  summary(): { dir?: string; rowsCached: number; note?: string; hits: number; misses: number } {
    return { ...(this.dir ? { dir: this.dir } : {}), rowsCached: this.cache?.filled ?? 0, ...(this.note ? { note: this.note } : {}), hits: this.hits, misses: this.misses };
  }
}
