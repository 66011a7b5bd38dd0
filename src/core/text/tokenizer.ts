// Hugging Face tokenizer.json files, loaded once for every user of them (benchmark text inputs,
// training data): the tokenizer, its pad and unknown ids and its special tokens.
import { UserError } from '../errors';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

/** A text file or tokenizer that cannot be used; the message names the file. */
export class TextInputError extends UserError {
  declare readonly file: string;
  constructor(file: string, problem: string) {
    super('text-input', problem, file);
    this.name = 'TextInputError';
  }
}

export function readJson(file: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TextInputError(file, `cannot read the ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TextInputError(file, `the ${what} is not a JSON object`);
  return parsed as Record<string, unknown>;
}

export interface LoadedTokenizer {
  file: string;
  tokenizer: Tokenizer;
  padId: number;
  unkId?: number;
  /** Ids of the special tokens ([CLS], [SEP], [PAD], ...): kept when a row is truncated. */
  specialIds: Set<number>;
  vocabSize: number;
}

/**
 * Loads a tokenizer.json (and the tokenizer_config.json beside it, when there is one), finding
 * the pad and unknown tokens and the special ids.
 */
export function loadTokenizer(file: string): LoadedTokenizer {
  const json = readJson(file, 'tokenizer (tokenizer.json)');
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const config = existsSync(configFile) ? readJson(configFile, 'tokenizer config') : {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (e) {
    throw new TextInputError(file, `not a tokenizer.json this tokenizer library understands: ${(e as Error).message}`);
  }
  const idOf = (...tokens: unknown[]): number | undefined => {
    for (const t of tokens) {
      if (typeof t !== 'string') continue;
      const id = tokenizer.token_to_id(t);
      if (id !== undefined) return id;
    }
    return undefined;
  };
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Array<{ id?: unknown; special?: unknown }>) : [];
  const padding = json.padding as { pad_id?: number } | null | undefined;
  const model = json.model as { unk_token?: string } | undefined;
  return {
    file,
    tokenizer,
    padId: padding?.pad_id ?? idOf(config.pad_token, '[PAD]', '<pad>') ?? 0,
    unkId: idOf(model?.unk_token, config.unk_token, '[UNK]', '<unk>'),
    specialIds: new Set(added.filter((t) => t.special === true && typeof t.id === 'number').map((t) => t.id as number)),
    vocabSize: tokenizer.get_vocab(true).size,
  };
}
