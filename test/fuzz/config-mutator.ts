// config.json beside the weights is read by openModel and used by the analysis (layer counts,
// head counts, model type), so it is fuzzed too: as bytes, and as JSON with edge values in the
// fields the analysis reads.
import { flipBits, truncateAt } from './bytes';
import type { Rng } from './prng';
import type { Mutation } from './formats/types';

/** Keys the analysis reads, in their Hugging Face spellings. */
const KEYS = [
  'num_hidden_layers', 'n_layers', 'num_attention_heads', 'n_heads', 'num_hidden_groups', 'hidden_size', 'dim',
  'intermediate_size', 'hidden_dim', 'vocab_size', 'max_position_embeddings', 'type_vocab_size', 'embedding_size',
  'num_labels', 'model_type', 'architectures', '_name_or_path', 'inner_group_num', '__proto__', 'constructor',
];

const ODD_VALUES: unknown[] = [
  0, -1, 1, 2, 3, 0.5, -0.5, 1e9, 2 ** 31, 2 ** 53, 1e300, -1e300, 'albert', 'bert', 'distilbert', 'mobilebert', '12',
  '', null, true, [], [1, 2], {}, { a: 1 }, 'x'.repeat(10_000),
];

export function mutateConfig(rng: Rng, original: Buffer): Mutation {
  const mode = rng.weighted({ value: 6, bytes: 2, truncate: 1, notObject: 1 });
  if (mode === 'bytes') {
    const m = flipBits(rng, original, [{ start: 0, end: original.length }]);
    return { bytes: m.bytes, note: `config.json ${m.note}` };
  }
  if (mode === 'truncate') {
    const m = truncateAt(rng, original, []);
    return { bytes: m.bytes, note: `config.json ${m.note}` };
  }
  if (mode === 'notObject') {
    const v = rng.pick<unknown>([[], null, 7, 'config', [{ model_type: 'bert' }]]);
    return { bytes: Buffer.from(JSON.stringify(v)), note: `config.json is ${JSON.stringify(v)}` };
  }
  const config = JSON.parse(original.toString('utf8')) as Record<string, unknown>;
  const edits: string[] = [];
  for (let i = 0, n = rng.range(1, 3); i < n; i++) {
    const key = rng.chance(0.6) ? rng.pick(Object.keys(config)) : rng.pick(KEYS);
    const value = rng.chance(0.1) ? undefined : rng.pick(ODD_VALUES);
    // defineProperty, not assignment, so "__proto__" becomes an ordinary key as JSON.parse would make it.
    if (value === undefined) delete config[key];
    else Object.defineProperty(config, key, { value, enumerable: true, configurable: true, writable: true });
    const shown = JSON.stringify(value) ?? 'removed';
    edits.push(`${key} = ${shown.length > 40 ? `${shown.slice(0, 37)}...` : shown}`);
  }
  return { bytes: Buffer.from(JSON.stringify(config, null, 1)), note: `config.json ${edits.join(', ')}` };
}
