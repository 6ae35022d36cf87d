/**
 * Retained messages by topic: an exact Map for set/get/delete, and a level trie of the same
 * topics so that a wildcard SUBSCRIBE finds its retained messages by walking only the branches
 * the filter can match, never by scanning every retained topic.
 *
 * match(filter): depth-first over the filter's levels. A literal level follows one child; '+'
 * follows every child; '#' emits the current node (if it holds a topic: "a/#" matches "a") and
 * every descendant. In the first level '+' and '#' skip children whose name starts with '$'
 * [MQTT-4.7.2-1]. Cost: proportional to the number of trie nodes under the matched branches.
 *
 * Invariant: a trie node exists only while it or a descendant holds a topic (delete prunes).
 */

const DOLLAR = 0x24;

class RetainedNode<V> {
  children: Map<string, RetainedNode<V>> | undefined = undefined;
  has = false;
  value: V | undefined = undefined;
  constructor(
    readonly parent: RetainedNode<V> | undefined,
    readonly level: string,
    readonly topic: string,
  ) {}
}

export class RetainedIndex<V> {
  #root = new RetainedNode<V>(undefined, '', '');
  #byTopic = new Map<string, RetainedNode<V>>();
  #nodeCount = 0;

  /** Trie nodes below the root (memory accounting; 0 when empty). */
  get nodeCount(): number {
    return this.#nodeCount;
  }

  get size(): number {
    return this.#byTopic.size;
  }

  set(topic: string, value: V): void {
    let node = this.#byTopic.get(topic);
    if (node === undefined) {
      node = this.#root;
      let start = 0;
      for (;;) {
        const end = topic.indexOf('/', start);
        const stop = end === -1 ? topic.length : end;
        const level = topic.slice(start, stop);
        node.children ??= new Map();
        let child = node.children.get(level);
        if (child === undefined) {
          child = new RetainedNode<V>(node, level, topic.slice(0, stop));
          node.children.set(level, child);
          this.#nodeCount++;
        }
        node = child;
        if (end === -1) break;
        start = end + 1;
      }
      node.has = true;
      this.#byTopic.set(topic, node);
    }
    node.value = value;
  }

  get(topic: string): V | undefined {
    return this.#byTopic.get(topic)?.value;
  }

  has(topic: string): boolean {
    return this.#byTopic.has(topic);
  }

  delete(topic: string): boolean {
    const node = this.#byTopic.get(topic);
    if (node === undefined) return false;
    this.#byTopic.delete(topic);
    node.has = false;
    node.value = undefined;
    let current = node;
    while (current.parent !== undefined && !current.has && (current.children === undefined || current.children.size === 0)) {
      const parent: RetainedNode<V> = current.parent;
      parent.children!.delete(current.level);
      if (parent.children!.size === 0) parent.children = undefined;
      this.#nodeCount--;
      current = parent;
    }
    return true;
  }

  clear(): void {
    this.#root = new RetainedNode<V>(undefined, '', '');
    this.#byTopic.clear();
    this.#nodeCount = 0;
  }

  /** Every (topic, value) whose topic matches the (valid, non-shared) filter. */
  match(filter: string, visit: (topic: string, value: V) => void): void {
    const levels = filter.split('/');
    matchFrom(this.#root, levels, 0, visit);
  }

  *entries(): IterableIterator<[string, V]> {
    for (const [topic, node] of this.#byTopic) yield [topic, node.value as V];
  }
}

function matchFrom<V>(node: RetainedNode<V>, levels: string[], i: number, visit: (topic: string, value: V) => void): void {
  if (i === levels.length) {
    if (node.has) visit(node.topic, node.value as V);
    return;
  }
  const level = levels[i];
  const atRoot = i === 0;
  if (level === '#') {
    // [MQTT-4.7.1-1] the parent level matches too ("a/#" matches "a"); not at the root ("#" has no parent)
    if (!atRoot && node.has) visit(node.topic, node.value as V);
    if (node.children === undefined) return;
    for (const child of node.children.values()) {
      if (atRoot && child.level.charCodeAt(0) === DOLLAR) continue; // [MQTT-4.7.2-1]
      emitAll(child, visit);
    }
    return;
  }
  if (node.children === undefined) return;
  if (level === '+') {
    for (const child of node.children.values()) {
      if (atRoot && child.level.charCodeAt(0) === DOLLAR) continue; // [MQTT-4.7.2-1]
      matchFrom(child, levels, i + 1, visit);
    }
    return;
  }
  const child = node.children.get(level);
  if (child !== undefined) matchFrom(child, levels, i + 1, visit);
}

/** Iterative (explicit stack) so that a very deep topic tree cannot overflow the call stack. */
function emitAll<V>(start: RetainedNode<V>, visit: (topic: string, value: V) => void): void {
  const stack: RetainedNode<V>[] = [start];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.has) visit(node.topic, node.value as V);
    if (node.children !== undefined) for (const child of node.children.values()) stack.push(child);
  }
}
