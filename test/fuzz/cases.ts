// A case is a pure function of its id "seed:index": the index fixes the format, model and
// mutation kind (cycling, so any run of 48 cases covers every combination evenly) and seeds the
// PRNG that picks everything else. Replaying an id rebuilds the same files byte for byte.
import { Rng } from './prng';
import { mutateConfig } from './config-mutator';
import type { Corpus } from './corpus';
import { MODELS } from './corpus';
import { FORMATS, KINDS } from './formats/types';
import type { FormatName, MutationKind } from './formats/types';

/** What is called: the format's reader on the file, or openModel on a model folder or on the file. */
export type Target = 'reader' | 'open-folder' | 'open-file';

export interface CasePlan {
  id: string;
  seed: string;
  index: number;
  format: FormatName;
  model: string;
  kind: MutationKind;
  target: Target;
}

export interface BuiltCase {
  plan: CasePlan;
  /** Files to write, relative to the case's folder. */
  files: Array<{ name: string; bytes: Buffer }>;
  /** The weights file, relative to the case's folder. */
  weights: string;
  /** openModel's format option, when the case passes one. */
  formatOption?: FormatName;
  note: string;
}

export function caseId(seed: string, index: number): string {
  return `${seed}:${index}`;
}

export function parseCaseId(id: string): { seed: string; index: number } {
  const at = id.lastIndexOf(':');
  const index = Number(id.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(index) || index < 0) throw new Error(`not a case id (seed:index): ${id}`);
  return { seed: id.slice(0, at), index };
}

export function planCase(seed: string, index: number): CasePlan {
  const rng = new Rng(`${caseId(seed, index)}:plan`);
  return {
    id: caseId(seed, index),
    seed,
    index,
    format: FORMATS[index % FORMATS.length],
    model: MODELS[Math.floor(index / FORMATS.length) % MODELS.length],
    kind: KINDS[Math.floor(index / (FORMATS.length * MODELS.length)) % KINDS.length],
    target: rng.weighted<Target>({ reader: 6, 'open-folder': 3, 'open-file': 1 }),
  };
}

export function buildCase(corpus: Corpus, plan: CasePlan): BuiltCase {
  const rng = new Rng(plan.id);
  const fc = corpus.formats[plan.format];
  const m = fc.mutate(plan.kind, rng, plan.model);
  if (plan.target === 'reader') return { plan, files: [{ name: fc.folderName, bytes: m.bytes }], weights: fc.folderName, note: m.note };
  if (plan.target === 'open-file') {
    const name = rng.pick(fc.fileNames);
    return { plan, files: [{ name, bytes: m.bytes }], weights: name, note: `${m.note}; opened as ${name}` };
  }
  // A Hugging Face folder: the weights beside config.json, which is sometimes damaged or absent.
  const files = [{ name: fc.folderName, bytes: m.bytes }];
  const notes = [m.note];
  const config = corpus.configs[plan.model];
  const c = rng.float();
  if (c < 0.4) {
    const cm = mutateConfig(rng, config);
    files.push({ name: 'config.json', bytes: cm.bytes });
    notes.push(cm.note);
  } else if (c < 0.95) files.push({ name: 'config.json', bytes: config });
  else notes.push('no config.json');
  let formatOption: FormatName | undefined;
  const f = rng.float();
  if (f < 0.15) formatOption = plan.format;
  else if (f < 0.2) formatOption = rng.pick(FORMATS.filter((x) => x !== plan.format));
  if (formatOption) notes.push(`format option '${formatOption}'`);
  return { plan, files, weights: fc.folderName, formatOption, note: notes.join('; ') };
}
