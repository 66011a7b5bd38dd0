// Lookups over a ModelSpec's main graph that the quantizer needs: who produces and who consumes
// each value, which values are initializers, and names not yet taken.
import type { GraphSpec, NodeSpec, TensorSpec } from '../onnx/model-spec';

export class GraphIndex {
  readonly initializers = new Map<string, TensorSpec>();
  readonly producer = new Map<string, NodeSpec>();
  readonly consumers = new Map<string, NodeSpec[]>();
  readonly graphOutputs: Set<string>;
  private readonly taken = new Set<string>();

  constructor(readonly graph: GraphSpec) {
    for (const t of graph.initializers) { this.initializers.set(t.name, t); this.taken.add(t.name); }
    for (const v of graph.inputs) this.taken.add(v.name);
    for (const n of graph.nodes) {
      if (n.name) this.taken.add(n.name);
      for (const o of n.outputs) { if (o) { this.producer.set(o, n); this.taken.add(o); } }
      for (const i of n.inputs) {
        if (!i) continue;
        const list = this.consumers.get(i);
        if (list) list.push(n); else this.consumers.set(i, [n]);
      }
    }
    this.graphOutputs = new Set(graph.outputs.map((o) => o.name));
  }

  /** `base`, or `base_1`, `base_2`...: a value, node or initializer name nothing else uses. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }
}

/** Whether a Transpose swaps the two axes of a 2-D tensor (perm [1, 0], or no perm: reversed). */
export function swapsTwoAxes(n: NodeSpec): boolean {
  const perm = n.attributes?.perm;
  if (!perm) return true;
  return perm.type === 'ints' && perm.value.length === 2 && perm.value[0] === 1 && perm.value[1] === 0;
}

export function intAttr(n: NodeSpec, name: string, fallback: number): number {
  const a = n.attributes?.[name];
  return a && a.type === 'int' ? a.value : fallback;
}

export function floatAttr(n: NodeSpec, name: string, fallback: number): number {
  const a = n.attributes?.[name];
  return a && a.type === 'float' ? a.value : fallback;
}
