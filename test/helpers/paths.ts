import * as path from 'node:path';
import { existsSync, readdirSync, statSync } from 'node:fs';

/** ../shared beside the repo: tests read it in place, never copy it. */
export const SHARED = path.resolve(__dirname, '../../../shared');
export const CORPUS = path.join(SHARED, 'corpus');
export const BERT_FAMILY = path.join(CORPUS, 'bert-family');
export const ONNX_BACKEND = path.join(CORPUS, 'onnx-backend');
export const BERT_MODELS = ['bert-mini', 'distilbert-mini', 'albert-mini', 'mobilebert-mini'] as const;

export function requireShared(): void {
  if (!existsSync(CORPUS)) throw new Error(`the shared corpus is missing at ${CORPUS}: clone the repo beside shared/`);
}

export function walkFiles(dir: string, pred: (p: string) => boolean, out: string[] = []): string[] {
  for (const e of readdirSync(dir).sort()) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walkFiles(p, pred, out);
    else if (pred(p)) out.push(p);
  }
  return out;
}
