// Which ops the autodiff can differentiate, keyed by (domain, op type): each op's gradient rule,
// registered once by the file of its op family (rules/*.ts), and the ops whose outputs carry no
// gradient. Keying by domain lets rules for `com.microsoft` or other custom-domain ops live in
// their own files without touching the builder.
import type { GradientRule } from './rules/helpers';

export type { GradientRule };

export interface GradientConfig {
  /** The op's domain: '' (the default) and 'ai.onnx' are the same domain. */
  domain?: string;
  opType: string;
  gradient: GradientRule;
}

export interface RegisteredOp {
  /** '' for the default ONNX domain. */
  domain: string;
  opType: string;
}

export const isDefaultDomain = (domain: string | undefined): boolean => !domain || domain === 'ai.onnx';

const domainKey = (domain: string | undefined): string => (isDefaultDomain(domain) ? '' : domain!);

/** The ONNX-style name of an op: `Add`, `com.microsoft.FusedMatMul`. */
export const qualifiedOpName = (domain: string | undefined, opType: string): string =>
  (isDefaultDomain(domain) ? opType : `${domain}.${opType}`);

/**
 * One set of registrations. The autodiff uses `gradientRegistry`; a separate instance lets tests
 * exercise the registration rules without adding ops to the real one.
 */
export class GradientRegistry {
  private readonly rules = new Map<string, Map<string, GradientRule>>();
  private readonly constants = new Map<string, Set<string>>();

  register(config: GradientConfig): void {
    const domain = domainKey(config.domain);
    this.refuseTaken(domain, config.opType);
    let ops = this.rules.get(domain);
    if (!ops) this.rules.set(domain, (ops = new Map()));
    ops.set(config.opType, config.gradient);
  }

  registerNonDifferentiable(domain: string, opTypes: readonly string[]): void {
    const key = domainKey(domain);
    for (const opType of opTypes) {
      this.refuseTaken(key, opType);
      let ops = this.constants.get(key);
      if (!ops) this.constants.set(key, (ops = new Set()));
      ops.add(opType);
    }
  }

  ruleFor(domain: string | undefined, opType: string): GradientRule | undefined {
    return this.rules.get(domainKey(domain))?.get(opType);
  }

  isNonDifferentiable(domain: string | undefined, opType: string): boolean {
    return this.constants.get(domainKey(domain))?.has(opType) ?? false;
  }

  listGradients(): RegisteredOp[] {
    return [...this.rules].flatMap(([domain, ops]) => [...ops.keys()].map((opType) => ({ domain, opType })));
  }

  listNonDifferentiable(): RegisteredOp[] {
    return [...this.constants].flatMap(([domain, ops]) => [...ops].map((opType) => ({ domain, opType })));
  }

  // A second registration would silently replace the first depending on import order: a bug in
  // the rule files, so it fails at load time instead.
  private refuseTaken(domain: string, opType: string): void {
    const name = qualifiedOpName(domain, opType);
    if (this.rules.get(domain)?.has(opType)) throw new Error(`a gradient rule for ${name} is already registered`);
    if (this.constants.get(domain)?.has(opType)) throw new Error(`${name} is already registered as non-differentiable`);
  }
}

export const gradientRegistry = new GradientRegistry();

export function registerGradient(config: GradientConfig): void {
  gradientRegistry.register(config);
}

/** Ops whose float outputs carry no gradient to their inputs: the values they produce are treated as constants. */
export function registerNonDifferentiable(domain: string, opTypes: readonly string[]): void {
  gradientRegistry.registerNonDifferentiable(domain, opTypes);
}

/** Every (domain, op type) with a gradient rule; complete once `./rules` is imported. */
export function listRegisteredGradients(): RegisteredOp[] {
  return gradientRegistry.listGradients();
}
