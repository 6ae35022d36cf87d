/**
 * Local dispatch: topic -> sessions of this node.
 *
 * Two tries: plain subscriptions (key: client id, value: SubEntry) and shared groups (key: group
 * name, value: SharedGroup), both from @mqtt-broker/topics, which honours the '$' rule
 * [MQTT-4.7.2-1].
 *
 * publish() is the hot path and allocates nothing per delivery: the trie visitor is bound once,
 * the current message lives in fields, and overlapping subscriptions of one session are merged
 * with a generation stamp on the session (one copy per session, at the highest granted QoS
 * [MQTT-3.3.5-1], carrying every matching Subscription Identifier [MQTT-3.3.4-3]).
 * Shared groups get one copy per group, to one member chosen round robin among connected
 * members (an offline member only when none is connected) [MQTT-4.8.2-?].
 *
 * Durable local copies (cluster mode with durable inboxes, docs/cluster.md "Durable QoS 1/2"):
 * when `durableLocal` is set, a QoS 1/2 copy for a *persistent* session made by a local publish
 * is not delivered here but counted as diverted; the cluster link appends the message once to this
 * node's own inbox (the publisher's ack waits for it) and the inbox consumer delivers it to the
 * persistent sessions only (`publish(..., 'persistent')`), saving them with the entry's
 * acknowledgement, as for copies from other nodes. Copies read from an inbox or the bus are
 * delivered between `enterInbox()` and `leaveInbox()` and never diverted again. Clean sessions and QoS 0 copies are
 * delivered at once as before (their state dies with the node anyway).
 */
import type { QoS } from '@mqtt-broker/mqtt-codec';
import { SubscriptionTrie } from '@mqtt-broker/topics';
import type { EngineContext } from '../engine-context.js';
import type { Message } from '../session/message.js';
import type { Session } from '../session/session.js';
import type { SharedGroup, SubEntry } from './sub-entry.js';

export class Router {
  private readonly plain = new SubscriptionTrie<string, SubEntry>();
  private readonly shared = new SubscriptionTrie<string, SharedGroup>();
  private sharedMembers = 0;
  private gen = 0;
  private current: Message | undefined = undefined;
  private senderId: string | undefined = undefined;
  private matched = 0;
  private readonly hits: Session[] = [];
  private readonly visitPlain = (entry: SubEntry): void => this.onPlain(entry);
  private readonly visitShared = (group: SharedGroup): void => this.onShared(group);
  /** Set by the cluster link with durable inboxes: local QoS 1/2 copies for persistent sessions go through this node's inbox. */
  durableLocal: { available(): boolean } | undefined = undefined;
  /** > 0 while delivering copies read from an inbox or the bus: nothing is diverted. */
  private inboxDepth = 0;
  /** The last publish() diverted copies for persistent sessions (taken by the cluster link). */
  private divertedPlain = false;
  /** Shared groups whose chosen local member is persistent (taken by the cluster link). */
  private readonly divertedGroups: Array<{ group: string; filter: string }> = [];

  /** Told when a filter gains its first / loses its last local subscription (cluster routes). */
  onFilterAdded: ((filter: string) => void) | undefined = undefined;
  onFilterRemoved: ((filter: string) => void) | undefined = undefined;
  /**
   * Cluster mode (../cluster/shared-routes.ts): a shared group gained or lost a member; the
   * cluster then picks the node of each shared delivery, and publish() leaves shared groups alone.
   */
  onSharedMembers: ((group: SharedGroup) => void) | undefined = undefined;

  constructor(private readonly ctx: EngineContext) {}

  get subscriptionCount(): number {
    return this.plain.size;
  }

  get sharedSubscriptionCount(): number {
    return this.sharedMembers;
  }

  /**
   * Routes one message to every matching local session; returns the number of sessions reached
   * (diverted copies included). `only = 'persistent'`: an entry of this node's own inbox, whose
   * other copies were delivered when it was published: only the persistent QoS 1/2 copies now.
   */
  publish(message: Message, senderId: string | undefined, only?: 'persistent'): number {
    const divert = message.qos > 0 && this.inboxDepth === 0 && this.durableLocal?.available() === true;
    this.divertedPlain = false;
    this.gen = (this.gen + 1) | 0;
    this.current = message;
    this.senderId = senderId;
    this.matched = 0;
    const hits = this.hits;
    this.plain.match(message.topic, this.visitPlain);
    const authorizer = this.ctx.authorizer;
    const canRead = authorizer?.canRead;
    for (let i = 0; i < hits.length; i++) {
      const s = hits[i];
      hits[i] = undefined as unknown as Session;
      if (only !== undefined) {
        if (s.matchQos === 0 || !s.persistent) continue; // delivered when it was published
      } else if (divert && s.matchQos > 0 && s.persistent) {
        this.divertedPlain = true; // delivered from this node's inbox (authorization checked then)
        continue;
      }
      if (canRead !== undefined && !canRead.call(authorizer, s.identity, message.topic)) {
        this.ctx.observer.messageDropped(message.qos, 'not_authorized');
        continue;
      }
      const qos = (Math.min(s.matchQos , message.qos)) as QoS; // [MQTT-3.8.4-8]
      // [MQTT-3.3.1-12] retain flag 0 unless Retain As Published [MQTT-3.3.1-13]
      s.deliver(message, qos, s.matchRetainAsPublished && message.retain, s.matchSubIds, undefined);
    }
    hits.length = 0;
    if (this.sharedMembers > 0 && this.onSharedMembers === undefined) this.shared.match(message.topic, this.visitShared);
    this.current = undefined;
    return this.matched;
  }

  private onPlain(entry: SubEntry): void {
    const s = entry.session;
    if (entry.noLocal && s.clientId === this.senderId) return; // [MQTT-3.8.3-3]
    if (s.matchGen !== this.gen) {
      s.matchGen = this.gen;
      s.matchQos = entry.qos;
      s.matchRetainAsPublished = entry.retainAsPublished;
      s.matchSubIds = entry.subscriptionIds;
      this.hits.push(s);
      this.matched++;
      return;
    }
    if (entry.qos > s.matchQos) s.matchQos = entry.qos;
    if (entry.retainAsPublished) s.matchRetainAsPublished = true;
    if (entry.subscriptionIds !== undefined) {
      s.matchSubIds = s.matchSubIds === undefined ? entry.subscriptionIds : [...s.matchSubIds, ...entry.subscriptionIds];
    }
  }

  private onShared(group: SharedGroup): void {
    const message = this.current!;
    const member = pickMember(group, undefined);
    if (member === undefined) return;
    this.matched++;
    this.deliverShared(member, message);
  }

  private deliverShared(member: SubEntry, message: Message): void {
    const s = member.session;
    const authorizer = this.ctx.authorizer;
    if (authorizer?.canRead !== undefined && !authorizer.canRead(s.identity, message.topic)) {
      this.ctx.observer.messageDropped(message.qos, 'not_authorized');
      return;
    }
    const qos = (Math.min(member.qos , message.qos)) as QoS;
    s.deliver(message, qos, member.retainAsPublished && message.retain, member.subscriptionIds, member.group);
  }

  /** Adds or replaces a subscription [MQTT-3.8.4-3]; returns true when it is new. */
  subscribe(entry: SubEntry): boolean {
    const session = entry.session;
    const previous = session.subscriptions.get(entry.topicFilter);
    session.subscriptions.set(entry.topicFilter, entry);
    if (entry.group === undefined) {
      if (this.onFilterAdded !== undefined && !this.plain.hasFilter(entry.matchFilter)) this.onFilterAdded(entry.matchFilter);
      this.plain.add(entry.matchFilter, session.clientId, entry);
      return previous === undefined;
    }
    const group = entry.group;
    if (previous !== undefined) {
      const i = group.members.indexOf(previous);
      if (i >= 0) group.members[i] = entry;
      return false;
    }
    if (group.members.length === 0 && this.onSharedMembers === undefined) this.onFilterAdded?.(group.filter);
    group.members.push(entry);
    this.sharedMembers++;
    this.onSharedMembers?.(group);
    return true;
  }

  /** The shared group for (name, filter), created on first use. */
  groupFor(name: string, filter: string): SharedGroup {
    let group = this.shared.get(filter, name);
    if (group === undefined) {
      group = { name, filter, members: [], next: 0 };
      this.shared.add(filter, name, group);
    }
    return group;
  }

  /** Removes one subscription; returns false when the session had none with that filter. */
  unsubscribe(session: Session, topicFilter: string): boolean {
    const entry = session.subscriptions.get(topicFilter);
    if (entry === undefined) return false;
    session.subscriptions.delete(topicFilter);
    if (entry.group === undefined) {
      this.plain.remove(entry.matchFilter, session.clientId);
      if (this.onFilterRemoved !== undefined && !this.plain.hasFilter(entry.matchFilter)) this.onFilterRemoved(entry.matchFilter);
      return true;
    }
    const group = entry.group;
    const i = group.members.indexOf(entry);
    if (i >= 0) {
      group.members.splice(i, 1);
      this.sharedMembers--;
    }
    if (group.members.length === 0) {
      this.shared.remove(group.filter, group.name);
      if (this.onSharedMembers === undefined) this.onFilterRemoved?.(group.filter);
    }
    this.onSharedMembers?.(group);
    return true;
  }

  /**
   * Delivers to one member of the local group `name` on `filter`; false when it has none. On a
   * local publish with durable local copies, when the member whose turn it is is persistent (and
   * the copy QoS 1/2), the copy is diverted to this node's inbox instead (the round robin does not
   * move: the member is picked when the inbox copy is delivered).
   */
  publishToGroup(filter: string, name: string, message: Message): boolean {
    const group = this.shared.get(filter, name);
    if (group === undefined) return false;
    if (message.qos > 0 && this.inboxDepth === 0 && this.durableLocal?.available() === true) {
      const next = peekMember(group);
      if (next !== undefined && next.qos > 0 && next.session.persistent) {
        this.divertedGroups.push({ group: name, filter });
        return true;
      }
    }
    const member = pickMember(group, undefined);
    if (member === undefined) return false;
    this.deliverShared(member, message);
    return true;
  }

  /** Copies read from an inbox are being delivered until leaveInbox(): nothing published meanwhile is diverted. */
  enterInbox(): void {
    this.inboxDepth++;
  }

  leaveInbox(): void {
    this.inboxDepth--;
  }

  /** True when the last publish() diverted copies for persistent sessions to this node's inbox. */
  takeDiverted(): boolean {
    const d = this.divertedPlain;
    this.divertedPlain = false;
    return d;
  }

  /** The shared groups whose copy was diverted since the last call (cluster link). */
  takeDivertedGroups(): Array<{ group: string; filter: string }> | undefined {
    if (this.divertedGroups.length === 0) return undefined;
    return this.divertedGroups.splice(0);
  }

  unsubscribeAll(session: Session): void {
    for (const filter of [...session.subscriptions.keys()]) this.unsubscribe(session, filter);
  }

  /**
   * A session lost its connection: its unacknowledged QoS 1 and queued messages that came
   * through a shared subscription go to another connected member of the same group (MQTT 5.0
   * 4.8.2). QoS 2 messages already sent stay: their delivery must be completed to that client
   * [MQTT-4.8.2-4] and never sent to another one [MQTT-4.8.2-5].
   */
  redistributeShared(session: Session): void {
    for (const entry of [...session.inflight.values()]) {
      if (entry.group === undefined || entry.state !== 0 || entry.qos !== 1 || entry.message === undefined) continue;
      const other = pickMember(entry.group, session);
      if (other === undefined) continue;
      session.completeInflight(entry.packetId);
      this.deliverShared(other, entry.message);
    }
    if (session.queue.length === 0) return;
    const moved: Array<{ member: SubEntry; message: Message }> = [];
    session.queue.filter((p) => {
      if (p.group === undefined) return true;
      const other = pickMember(p.group, session);
      if (other === undefined) return true;
      moved.push({ member: other, message: p.message });
      this.ctx.counters.queued--;
      return false;
    });
    for (const m of moved) this.deliverShared(m.member, m.message);
  }
}

/**
 * Index of the member whose turn it is: round robin over connected members (not `exclude`); an
 * offline member when none is connected (and none is excluded); -1 when there is none.
 */
function memberIndex(group: SharedGroup, exclude: Session | undefined): number {
  const members = group.members;
  const n = members.length;
  let fallback = -1;
  for (let i = 0; i < n; i++) {
    const idx = (group.next + i) % n;
    const m = members[idx];
    if (m.session === exclude) continue;
    if (m.session.outlet !== undefined) return idx;
    if (fallback === -1) fallback = idx;
  }
  return exclude === undefined ? fallback : -1;
}

/** The member pickMember(group, undefined) would return, without moving the round robin. */
function peekMember(group: SharedGroup): SubEntry | undefined {
  const idx = memberIndex(group, undefined);
  return idx === -1 ? undefined : group.members[idx];
}

/** The member whose turn it is (memberIndex); the round robin moves past it. */
function pickMember(group: SharedGroup, exclude: Session | undefined): SubEntry | undefined {
  const idx = memberIndex(group, exclude);
  if (idx === -1) return undefined;
  group.next = (idx + 1) % group.members.length;
  return group.members[idx];
}
