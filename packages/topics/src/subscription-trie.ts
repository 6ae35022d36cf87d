/**
 * Subscription trie: filter -> (key -> value), matched against a topic once per PUBLISH.
 *
 * Shape: one node per filter level. A node keeps its literal children in a Map (created lazily)
 * and its '+' and '#' children in two dedicated fields, so a match does one Map lookup per topic
 * level plus at most two pointer checks. Entries of a filter live on its last node as two parallel
 * arrays (keys, values) plus a Map key -> index: iteration in `match` is a plain indexed loop, and
 * removal is O(1) by swapping with the last element.
 *
 * match(topic): the topic is split into a reused level buffer with an indexOf loop, then a
 * depth-first walk visits, at each node: its '#' child (matches the rest, including "no more
 * levels": "a/#" matches "a"), then either its own entries (topic exhausted) or its literal child
 * for the next level and its '+' child. At the root, '+' and '#' are skipped when the topic starts
 * with '$' [MQTT-4.7.2-1]. Cost: O(levels x matching branches), independent of the number of
 * filters that do not match.
 *
 * Invariants: a node exists only while it or a descendant holds an entry (remove prunes empty
 * nodes up to the root, so add/remove churn does not grow memory); `filter` on a node is the full
 * filter string it stands for (shared by every visit, never rebuilt).
 */
import { MqttProtocolError, ReasonCode } from '@mqtt-broker/mqtt-codec';
import { isValidTopicFilter } from './validate.js';

const DOLLAR = 0x24;

class TrieNode<K, V> {
  children: Map<string, TrieNode<K, V>> | undefined = undefined;
  plus: TrieNode<K, V> | undefined = undefined;
  hash: TrieNode<K, V> | undefined = undefined;
  keys: K[] | undefined = undefined;
  values: V[] | undefined = undefined;
  index: Map<K, number> | undefined = undefined;
  constructor(
    readonly parent: TrieNode<K, V> | undefined,
    readonly level: string,
    readonly filter: string,
  ) {}

  isEmpty(): boolean {
    return (
      (this.keys === undefined || this.keys.length === 0) &&
      (this.children === undefined || this.children.size === 0) &&
      this.plus === undefined &&
      this.hash === undefined
    );
  }
}

/** Splits `s` at '/' into `out` (reused), returns the number of levels. */
function splitInto(s: string, out: string[]): number {
  let n = 0;
  let start = 0;
  for (;;) {
    const end = s.indexOf('/', start);
    if (end === -1) {
      out[n++] = start === 0 ? s : s.slice(start);
      return n;
    }
    out[n++] = s.slice(start, end);
    start = end + 1;
  }
}

export class SubscriptionTrie<K, V> {
  #root = new TrieNode<K, V>(undefined, '', '');
  #size = 0;
  #filterCount = 0;
  #nodeCount = 0;
  /** Level buffer reused by match; a reentrant match (from inside visit) gets its own. */
  #levels: string[] = [];
  #matching = false;

  /** Number of (filter, key) entries. */
  get size(): number {
    return this.#size;
  }

  /** Trie nodes below the root (memory accounting; 0 when empty). */
  get nodeCount(): number {
    return this.#nodeCount;
  }

  /** Number of distinct filters with at least one entry. */
  get filterCount(): number {
    return this.#filterCount;
  }

  /**
   * Adds or replaces the entry (filter, key). Returns true when it is new. Throws
   * MqttProtocolError(0x8F) for an invalid filter, so a bad filter never reaches the trie.
   */
  add(filter: string, key: K, value: V): boolean {
    if (!isValidTopicFilter(filter)) {
      throw new MqttProtocolError(ReasonCode.TopicFilterInvalid, 'invalid topic filter', 'MQTT-4.7.1-1');
    }
    let node = this.#root;
    let start = 0;
    for (;;) {
      const end = filter.indexOf('/', start);
      const stop = end === -1 ? filter.length : end;
      const level = filter.slice(start, stop);
      node = this.#child(node, level, filter.slice(0, stop));
      if (end === -1) break;
      start = end + 1;
    }
    if (node.index === undefined) {
      node.index = new Map();
      node.keys = [];
      node.values = [];
    }
    const at = node.index.get(key);
    if (at !== undefined) {
      node.values![at] = value;
      return false;
    }
    if (node.keys!.length === 0) this.#filterCount++;
    node.index.set(key, node.keys!.length);
    node.keys!.push(key);
    node.values!.push(value);
    this.#size++;
    return true;
  }

  /** Removes the entry (filter, key); returns false when there was none. */
  remove(filter: string, key: K): boolean {
    const node = this.#find(filter);
    if (node === undefined || node.index === undefined) return false;
    const at = node.index.get(key);
    if (at === undefined) return false;
    const keys = node.keys!;
    const values = node.values!;
    const last = keys.length - 1;
    if (at !== last) {
      keys[at] = keys[last];
      values[at] = values[last];
      node.index.set(keys[at], at);
    }
    keys.pop();
    values.pop();
    node.index.delete(key);
    this.#size--;
    if (keys.length === 0) {
      this.#filterCount--;
      node.keys = undefined;
      node.values = undefined;
      node.index = undefined;
      this.#prune(node);
    }
    return true;
  }

  get(filter: string, key: K): V | undefined {
    const node = this.#find(filter);
    if (node === undefined || node.index === undefined) return undefined;
    const at = node.index.get(key);
    return at === undefined ? undefined : node.values![at];
  }

  hasFilter(filter: string): boolean {
    const node = this.#find(filter);
    return node !== undefined && node.keys !== undefined && node.keys.length > 0;
  }

  /** Every (key, value) of one filter, for UNSUBSCRIBE-all and route rebuilds. */
  *entriesOf(filter: string): IterableIterator<[K, V]> {
    const node = this.#find(filter);
    if (node === undefined || node.keys === undefined) return;
    const keys = node.keys.slice();
    const values = node.values!.slice();
    for (let i = 0; i < keys.length; i++) yield [keys[i], values[i]];
  }

  /** Every filter that has at least one entry (no particular order). */
  *filters(): IterableIterator<string> {
    const stack: TrieNode<K, V>[] = [this.#root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.keys !== undefined && node.keys.length > 0) yield node.filter;
      if (node.children !== undefined) for (const c of node.children.values()) stack.push(c);
      if (node.plus !== undefined) stack.push(node.plus);
      if (node.hash !== undefined) stack.push(node.hash);
    }
  }

  /**
   * Calls visit(value, key, filter) for every entry whose filter matches `topic`. The visitor must
   * not add to or remove from this trie while the match runs (collect first, then mutate).
   */
  match(topic: string, visit: (value: V, key: K, filter: string) => void): void {
    let levels: string[];
    let n = 0;
    const reentrant = this.#matching;
    if (reentrant) levels = [];
    else {
      levels = this.#levels;
      this.#matching = true;
    }
    try {
      n = splitInto(topic, levels);
      const root = this.#root;
      // [MQTT-4.7.2-1] wildcards in the first level do not match topics starting with '$'
      if (topic.charCodeAt(0) !== DOLLAR) {
        if (root.hash !== undefined) emit(root.hash, visit);
        if (root.plus !== undefined) walk(root.plus, levels, 1, n, visit);
      }
      if (root.children !== undefined) {
        const child = root.children.get(levels[0]);
        if (child !== undefined) walk(child, levels, 1, n, visit);
      }
    } finally {
      if (!reentrant) {
        this.#matching = false;
        // drop references to the topic's levels but keep the array's capacity
        for (let i = 0; i < n; i++) levels[i] = '';
      }
    }
  }

  /** True when at least one filter matches the topic (stops at the first). */
  hasMatch(topic: string): boolean {
    let found = false;
    // A dedicated early-exit walk is not worth the code: hasMatch is off the hot path.
    this.match(topic, () => {
      found = true;
    });
    return found;
  }

  #child(node: TrieNode<K, V>, level: string, filter: string): TrieNode<K, V> {
    if (level === '+') {
      if (node.plus === undefined) {
        node.plus = new TrieNode(node, level, filter);
        this.#nodeCount++;
      }
      return node.plus;
    }
    if (level === '#') {
      if (node.hash === undefined) {
        node.hash = new TrieNode(node, level, filter);
        this.#nodeCount++;
      }
      return node.hash;
    }
    node.children ??= new Map();
    let child = node.children.get(level);
    if (child === undefined) {
      child = new TrieNode(node, level, filter);
      node.children.set(level, child);
      this.#nodeCount++;
    }
    return child;
  }

  #find(filter: string): TrieNode<K, V> | undefined {
    let node: TrieNode<K, V> | undefined = this.#root;
    let start = 0;
    for (;;) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      if (level === '+') node = node.plus;
      else if (level === '#') node = node.hash;
      else node = node.children?.get(level);
      if (node === undefined || end === -1) return node;
      start = end + 1;
    }
  }

  #prune(node: TrieNode<K, V>): void {
    let current: TrieNode<K, V> = node;
    while (current.parent !== undefined && current.isEmpty()) {
      const parent: TrieNode<K, V> = current.parent;
      if (parent.plus === current) parent.plus = undefined;
      else if (parent.hash === current) parent.hash = undefined;
      else {
        parent.children!.delete(current.level);
        if (parent.children!.size === 0) parent.children = undefined;
      }
      this.#nodeCount--;
      current = parent;
    }
  }
}

function emit<K, V>(node: TrieNode<K, V>, visit: (value: V, key: K, filter: string) => void): void {
  const keys = node.keys;
  if (keys === undefined) return;
  const values = node.values!;
  const filter = node.filter;
  for (let i = 0; i < keys.length; i++) visit(values[i], keys[i], filter);
}

/** `node` has consumed levels[0..i-1]. */
function walk<K, V>(
  node: TrieNode<K, V>,
  levels: string[],
  i: number,
  n: number,
  visit: (value: V, key: K, filter: string) => void,
): void {
  // [MQTT-4.7.1-1] '#' also matches the parent level: "a/#" matches "a"
  if (node.hash !== undefined) emit(node.hash, visit);
  if (i === n) {
    emit(node, visit);
    return;
  }
  if (node.children !== undefined) {
    const child = node.children.get(levels[i]);
    if (child !== undefined) walk(child, levels, i + 1, n, visit);
  }
  if (node.plus !== undefined) walk(node.plus, levels, i + 1, n, visit);
}
