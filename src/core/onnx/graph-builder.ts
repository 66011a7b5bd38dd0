import type { DType } from '../model';
import type { TensorValues } from '../tensor-values';
import type { AttrSpec, GraphSpec, NodeSpec, TensorSpec, ValueInfoSpec } from './model-spec';

/** Small conveniences for emitting ONNX graphs: unique value names, constants, common ops. */
export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  readonly inputs: ValueInfoSpec[] = [];
  readonly outputs: ValueInfoSpec[] = [];
  private counter = 0;
  private constants = new Map<string, string>();

  constructor(readonly name: string) {}

  fresh(hint: string): string {
    return `/${hint}_${this.counter++}`;
  }

  op(opType: string, inputs: string[], attributes?: Record<string, AttrSpec>, hint = opType, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({ opType, inputs, outputs: outs, name: `${hint}/${opType}_${this.counter}`, attributes });
    return outs;
  }

  op1(opType: string, inputs: string[], attributes?: Record<string, AttrSpec>, hint = opType): string {
    return this.op(opType, inputs, attributes, hint)[0];
  }

  initializer(name: string, dtype: DType, dims: number[], values: TensorValues): string {
    this.initializers.push({ name, dtype, dims, values });
    return name;
  }

  /**
   * A shared constant (int64 or float32), deduplicated by value. Emitted as a Constant node, as
   * exporters do, so the inspector tells it from trainable initializers.
   */
  const(dtype: 'int64' | 'float32', dims: number[], values: number[]): string {
    const key = `${dtype}:${dims.join('x')}:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = `/Constant_${this.constants.size}_output_0`;
    const data = dtype === 'int64' ? BigInt64Array.from(values.map((v) => BigInt(v))) : Float32Array.from(values);
    this.nodes.push({ opType: 'Constant', inputs: [], outputs: [name], name: `/Constant_${this.constants.size}`, attributes: { value: { type: 'tensor', value: { name, dtype, dims, values: data } } } });
    this.constants.set(key, name);
    return name;
  }

  graph(): GraphSpec {
    return { name: this.name, nodes: this.nodes, inputs: this.inputs, outputs: this.outputs, initializers: this.initializers };
  }
}

/** Deterministic PRNG (mulberry32) so a seed always builds the same weights. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal(0, std) samples by Box-Muller over a seeded uniform source. */
export function normalFill(n: number, std: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
