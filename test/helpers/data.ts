import { writeFileSync } from 'node:fs';

/**
 * Pre-tokenized JSONL rows whose label (`classes` classes) is decided by the second token:
 * learnable, not trivial, and needing no tokenizer. Ids stay inside [101, 490).
 */
export function writeTokenData(file: string, rows: number, seed: number, classes = 3): string {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const len = 4 + Math.floor(rand() * 8);
    const ids = [101, ...Array.from({ length: len - 2 }, () => 110 + Math.floor(rand() * 380)), 102];
    lines.push(JSON.stringify({ input_ids: ids, label: ids[1] % classes }));
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
