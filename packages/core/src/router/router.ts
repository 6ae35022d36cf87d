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

  /** Routes one message to every matching local session; returns the number of sessions reached. */
  publish(message: Message, senderId: string | undefined): number {
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

  /** Delivers to one member of the local group `name` on `filter`; false when it has none. */
  publishToGroup(filter: string, name: string, message: Message): boolean {
    const group = this.shared.get(filter, name);
    const member = group === undefined ? undefined : pickMember(group, undefined);
    if (member === undefined) return false;
    this.deliverShared(member, message);
    return true;
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

/** Round robin over connected members (not `exclude`); an offline member when none is connected. */
function pickMember(group: SharedGroup, exclude: Session | undefined): SubEntry | undefined {
  const members = group.members;
  const n = members.length;
  if (n === 0) return undefined;
  let fallback: SubEntry | undefined;
  for (let i = 0; i < n; i++) {
    const idx = (group.next + i) % n;
    const m = members[idx];
    if (m.session === exclude) continue;
    if (m.session.outlet !== undefined) {
      group.next = idx + 1;
      return m;
    }
    if (fallback === undefined) fallback = m;
  }
  if (fallback !== undefined && exclude === undefined) {
    group.next = (members.indexOf(fallback) + 1) % n;
    return fallback;
  }
  return undefined;
}
