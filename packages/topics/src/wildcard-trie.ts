/**
 * The wildcard half of RouteReplica: filters containing '+' or '#', in a trie of lean nodes.
 *
 * A node has six fields and nothing else: its level, its only literal child (`one`) or, from two
 * literal children on, a SplitMap of them (`many`), its '+' and '#' children, and the NodeSet of
 * the filter ending here. No parent pointer, no filter string, no per-node Map or entry arrays
 * (SubscriptionTrie keeps all of those for per-subscription entries, which a route replica does
 * not have). Removal walks down again, remembering the path, and prunes empty nodes upwards.
 *
 * match(topic): the same walk as SubscriptionTrie: at each node its '#' child (which also matches
 * "no more levels"), then its own set when the topic is exhausted, else the literal child for the
 * next level and the '+' child. At the root '+' and '#' are skipped for topics starting with '$'
 * [MQTT-4.7.2-1].
 */
import { type NodeSet, nodeSetAdd, nodeSetHas, nodeSetRemove } from './node-set.js';
import { SplitMap } from './split-map.js';

const DOLLAR = 0x24;

class WildNode {
  one: WildNode | undefined = undefined;
  many: SplitMap<WildNode> | undefined = undefined;
  plus: WildNode | undefined = undefined;
  hash: WildNode | undefined = undefined;
  set: NodeSet | undefined = undefined;
  constructor(readonly level: string) {}
}

function isEmpty(node: WildNode): boolean {
  return node.set === undefined && node.one === undefined && node.many === undefined && node.plus === undefined && node.hash === undefined;
}

function literalChild(node: WildNode, level: string): WildNode | undefined {
  const one = node.one;
  if (one !== undefined) return one.level === level ? one : undefined;
  return node.many?.get(level);
}

export type NodeSetVisitor = (set: NodeSet) => void;

export class WildcardTrie {
  #root = new WildNode('');
  #filters = 0;
  readonly #mapLimit: number | undefined;
  /** Level buffer reused by match (splitting the topic). */
  #levels: string[] = [];
  #matching = false;
  #path: WildNode[] = [];

  constructor(mapLimit?: number) {
    this.#mapLimit = mapLimit;
  }

  /** Distinct filters with a non-empty node set. */
  get filterCount(): number {
    return this.#filters;
  }

  /** The node set of `filter` after adding `index`; returns true when it was not there. */
  add(filter: string, index: number): boolean {
    let node = this.#root;
    let start = 0;
    for (;;) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      node = this.#child(node, level);
      if (end === -1) break;
      start = end + 1;
    }
    if (nodeSetHas(node.set, index)) return false;
    if (node.set === undefined) this.#filters++;
    node.set = nodeSetAdd(node.set, index);
    return true;
  }

  remove(filter: string, index: number): boolean {
    const path = this.#path;
    path.length = 0;
    let node: WildNode | undefined = this.#root;
    let start = 0;
    for (;;) {
      path.push(node);
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      node = step(node, level);
      if (node === undefined) return false;
      if (end === -1) break;
      start = end + 1;
    }
    if (!nodeSetHas(node.set, index)) return false;
    node.set = nodeSetRemove(node.set, index);
    if (node.set === undefined) {
      this.#filters--;
      // prune empty nodes upwards (path holds the ancestors, root first)
      let child = node;
      for (let i = path.length - 1; i >= 0 && isEmpty(child); i--) {
        const parent = path[i];
        if (parent.plus === child) parent.plus = undefined;
        else if (parent.hash === child) parent.hash = undefined;
        else if (parent.one === child) parent.one = undefined;
        else if (parent.many !== undefined) {
          parent.many.delete(child.level);
          if (parent.many.size === 1) {
            parent.one = parent.many.values().next().value;
            parent.many = undefined;
          }
        }
        child = parent;
      }
    }
    path.length = 0;
    return true;
  }

  has(filter: string, index: number): boolean {
    let node: WildNode | undefined = this.#root;
    let start = 0;
    for (;;) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      node = step(node, level);
      if (node === undefined) return false;
      if (end === -1) return nodeSetHas(node.set, index);
      start = end + 1;
    }
  }

  /** Every (filter, node set) pair, for rebuilds and node removal. */
  *entries(): IterableIterator<[string, NodeSet]> {
    const stack: Array<[WildNode, string]> = [[this.#root, '']];
    while (stack.length > 0) {
      const [node, prefix] = stack.pop()!;
      const at = (n: WildNode): string => (node === this.#root ? n.level : `${prefix}/${n.level}`);
      if (node !== this.#root && node.set !== undefined) yield [prefix, node.set];
      if (node.one !== undefined) stack.push([node.one, at(node.one)]);
      if (node.many !== undefined) for (const c of node.many.values()) stack.push([c, at(c)]);
      if (node.plus !== undefined) stack.push([node.plus, at(node.plus)]);
      if (node.hash !== undefined) stack.push([node.hash, at(node.hash)]);
    }
  }

  /** Calls visit(set) for the node set of every filter matching `topic`. Not reentrant-safe for mutation. */
  match(topic: string, visit: NodeSetVisitor): void {
    const root = this.#root;
    if (isEmpty(root)) return;
    // a visitor that matches again gets its own buffer
    const reentrant = this.#matching;
    const levels = reentrant ? [] : this.#levels;
    this.#matching = true;
    let n = 0;
    let start = 0;
    for (;;) {
      const end = topic.indexOf('/', start);
      if (end === -1) {
        levels[n++] = start === 0 ? topic : topic.slice(start);
        break;
      }
      levels[n++] = topic.slice(start, end);
      start = end + 1;
    }
    try {
      // [MQTT-4.7.2-1] wildcards in the first level do not match topics starting with '$'
      if (topic.charCodeAt(0) !== DOLLAR) {
        if (root.hash !== undefined && root.hash.set !== undefined) visit(root.hash.set);
        if (root.plus !== undefined) walk(root.plus, levels, 1, n, visit);
      }
      const child = literalChild(root, levels[0]);
      if (child !== undefined) walk(child, levels, 1, n, visit);
    } finally {
      if (!reentrant) {
        this.#matching = false;
        // drop references to the topic's levels but keep the array's capacity
        for (let i = 0; i < n; i++) levels[i] = '';
      }
    }
  }

  clear(): void {
    this.#root = new WildNode('');
    this.#filters = 0;
  }

  #child(node: WildNode, level: string): WildNode {
    if (level === '+') {
      node.plus ??= new WildNode(level);
      return node.plus;
    }
    if (level === '#') {
      node.hash ??= new WildNode(level);
      return node.hash;
    }
    const found = literalChild(node, level);
    if (found !== undefined) return found;
    const child = new WildNode(level);
    if (node.many !== undefined) node.many.set(level, child);
    else if (node.one === undefined) node.one = child;
    else {
      node.many = new SplitMap(this.#mapLimit);
      node.many.set(node.one.level, node.one);
      node.many.set(level, child);
      node.one = undefined;
    }
    return child;
  }
}

function step(node: WildNode, level: string): WildNode | undefined {
  if (level === '+') return node.plus;
  if (level === '#') return node.hash;
  return literalChild(node, level);
}

/** `node` has consumed levels[0..i-1]. */
function walk(node: WildNode, levels: string[], i: number, n: number, visit: NodeSetVisitor): void {
  // [MQTT-4.7.1-1] '#' also matches the parent level: "a/#" matches "a"
  const hash = node.hash;
  if (hash !== undefined && hash.set !== undefined) visit(hash.set);
  if (i === n) {
    if (node.set !== undefined) visit(node.set);
    return;
  }
  const child = literalChild(node, levels[i]);
  if (child !== undefined) walk(child, levels, i + 1, n, visit);
  if (node.plus !== undefined) walk(node.plus, levels, i + 1, n, visit);
}
