/**
 * A small set of node indexes (interned node ids, see RouteReplica), stored as compactly as V8
 * allows: one node, the common case (a per-device filter has its subscriber on one node), is a
 * plain small integer (a Smi: no allocation at all); two or more are a sorted array of indexes.
 * Operations return the new set (undefined when it became empty), so callers store the result.
 */
export type NodeSet = number | number[];

export function nodeSetHas(set: NodeSet | undefined, i: number): boolean {
  if (set === undefined) return false;
  if (typeof set === 'number') return set === i;
  return set.includes(i);
}

/** The set with `i` added (the same array mutated, or a new value). */
export function nodeSetAdd(set: NodeSet | undefined, i: number): NodeSet {
  if (set === undefined) return i;
  if (typeof set === 'number') {
    if (set === i) return set;
    return set < i ? [set, i] : [i, set];
  }
  let at = 0;
  while (at < set.length && set[at] < i) at++;
  if (set[at] !== i) set.splice(at, 0, i);
  return set;
}

/** The set without `i`; undefined when nothing is left. */
export function nodeSetRemove(set: NodeSet | undefined, i: number): NodeSet | undefined {
  if (set === undefined) return undefined;
  if (typeof set === 'number') return set === i ? undefined : set;
  const at = set.indexOf(i);
  if (at === -1) return set;
  set.splice(at, 1);
  return set.length === 1 ? set[0] : set;
}

export function nodeSetSize(set: NodeSet | undefined): number {
  if (set === undefined) return 0;
  return typeof set === 'number' ? 1 : set.length;
}
