// The demo's built-in task, generated: short reviews whose sentiment depends on word order, so a
// bag of words cannot solve it and depth and width make a visible difference. A review is one
// clause ("the plot was not very good"), two joined by a contrast ("..., but the acting was
// great": the second decides), or two with a concession ("although A, B" and "B, although A":
// the clause without "although" decides, wherever it stands). Negation flips a clause; "the plot
// was not good, but the cast was great" and "the plot was good, but the cast was not great" hold
// the same words and opposite labels. Seeded: the same seed gives the same data. Comes with a WordPiece
// tokenizer.json made for its vocabulary.
import { seededRandom } from '../onnx/graph-builder';

const SUBJECTS = ['the movie', 'the film', 'this show', 'the plot', 'the acting', 'the story', 'the cast', 'the music', 'the ending', 'the script', 'the pacing', 'the dialogue'];
const VERBS = ['is', 'was', 'seems', 'felt', 'looked', 'sounded'];
const INTENSIFIERS = ['', '', 'very', 'really', 'quite', 'so', 'truly', 'rather'];
const POSITIVE = ['good', 'great', 'fine', 'superb', 'lovely', 'brilliant', 'charming', 'clever', 'moving', 'fun', 'delightful', 'strong'];
const NEGATIVE = ['bad', 'awful', 'dull', 'boring', 'weak', 'poor', 'terrible', 'bland', 'messy', 'flat', 'clumsy', 'tedious'];
const NEGATORS = ['not', 'never', 'hardly'];
const CONTRASTS = ['but', 'yet', 'however'];
const CONCESSION = ['although'];
const OPENERS = ['', '', '', 'honestly', 'overall', 'sadly', 'frankly'];

export interface Review {
  text: string;
  label: 0 | 1;
}

function pick<T>(xs: readonly T[], rand: () => number): T {
  return xs[Math.floor(rand() * xs.length)];
}

/** One clause and its polarity (+1 / -1). */
function clause(rand: () => number): { words: string[]; polarity: number } {
  const positive = rand() < 0.5;
  const negated = rand() < 0.45;
  const words = [pick(SUBJECTS, rand), pick(VERBS, rand)];
  if (negated) words.push(pick(NEGATORS, rand));
  const intens = pick(INTENSIFIERS, rand);
  if (intens) words.push(intens);
  words.push(pick(positive ? POSITIVE : NEGATIVE, rand));
  return { words, polarity: (positive ? 1 : -1) * (negated ? -1 : 1) };
}

export function generateReviews(count: number, seed: number): Review[] {
  const rand = seededRandom(seed);
  const out: Review[] = [];
  for (let i = 0; i < count; i++) {
    const first = clause(rand);
    const opener = pick(OPENERS, rand);
    let words = opener ? [opener, ',', ...first.words] : first.words;
    let polarity = first.polarity;
    const form = rand();
    if (form < 0.4) {
      const second = clause(rand);
      words = [...words, ',', pick(CONTRASTS, rand), ...second.words];
      polarity = second.polarity;
    } else if (form < 0.7) {
      // The conceded clause does not count, before or after the one that does.
      const conceded = clause(rand);
      words = rand() < 0.5 ? ['although', ...conceded.words, ',', ...words] : [...words, ',', 'although', ...conceded.words];
    }
    out.push({ text: words.join(' ').replace(/ ,/g, ','), label: polarity > 0 ? 1 : 0 });
  }
  return out;
}

/**
 * The label a review's words give by the task's rules, read back from its text: the clause after
 * a contrast decides, a conceded clause ("although ...") never does, negation flips a clause.
 */
export function labelOf(text: string): 0 | 1 {
  const segments = text.split(',').map((s) => s.trim().split(/\s+/).filter(Boolean)).filter((s) => s.length);
  const clauses = segments.filter((s) => !(s.length === 1 && OPENERS.includes(s[0])));
  const decisive = clauses.find((c) => CONTRASTS.includes(c[0])) ?? clauses.find((c) => c[0] !== 'although') ?? clauses[0];
  const positive = decisive.some((w) => POSITIVE.includes(w));
  const negated = decisive.some((w) => NEGATORS.includes(w));
  return positive !== negated ? 1 : 0;
}

/** A TSV with `label<TAB>sentence` rows, GLUE style, as the training data readers take. */
export function reviewsTsv(reviews: readonly Review[]): string {
  return ['label\tsentence', ...reviews.map((r) => `${r.label}\t${r.text}`)].join('\n') + '\n';
}

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Every word the task uses, in a stable order. */
export function taskVocabulary(): string[] {
  const words = new Set<string>([',', '.']);
  for (const list of [SUBJECTS, VERBS, INTENSIFIERS, POSITIVE, NEGATIVE, NEGATORS, CONTRASTS, CONCESSION, OPENERS]) {
    for (const phrase of list) for (const w of phrase.split(' ')) if (w) words.add(w);
  }
  return [...SPECIAL, ...[...words].sort()];
}

/** A Hugging Face tokenizer.json (BERT-style normalizer, pre-tokenizer, WordPiece, [CLS] ... [SEP]) for the task's words. */
export function taskTokenizerJson(): Record<string, unknown> {
  const vocab = taskVocabulary();
  const id = (t: string) => vocab.indexOf(t);
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: SPECIAL.map((content) => ({ id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((w, i) => [w, i])) },
  };
}
