// Reading Hugging Face config.json values, whose keys differ by family (hidden_size / dim / d_model).

/** The first of `keys` that holds a finite number. */
export function numberFrom(config: Record<string, unknown> | undefined, keys: string[]): number | undefined {
  if (!config) return undefined;
  for (const k of keys) {
    const v = config[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}
