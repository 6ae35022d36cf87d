/**
 * After another node died (docs/cluster.md, "Node failure"): run by the one survivor that won the
 * dead node's cleanup lock, after the dead node's routes were removed.
 *
 * 1. Wills: every will the dead node's clients left in shared storage is published now (a Will
 *    Delay Interval is not waited for: the connection is gone already).
 * 2. Sessions: each persistent session the dead node held is adopted when the dead node still
 *    owns its client id (registry compare-and-set): restored from its last saved snapshot as an
 *    offline session here, with its subscriptions (so routes now point to this node) and its
 *    expiry. A client that reconnects later anywhere takes it over from this node as usual. A
 *    session whose client already claimed its id on another node is not adopted; that node waits
 *    for the cleanup mark before it loads the snapshot.
 * 3. Inbox: every batch left in the dead node's inbox (appended, not yet acknowledged into the
 *    sessions' saved state) is delivered to the adopted sessions whose subscriptions match, or
 *    appended to the saved snapshot of a session that was not adopted; then the inbox is deleted.
 * 4. The membership then drops the dead node, which tells connecting clients waiting for it that its
 *    state is where it will stay (DurablePort.isCleaned).
 */
import { parseSharedFilter, topicMatches } from '@mqtt-broker/topics';
import type { EngineContext } from '../engine-context.js';
import type { SessionSnapshot, StoredMessage } from '../ports.js';
import { fromStored } from '../session/message.js';
import { restoreSession } from '../session/restore.js';
import type { Session } from '../session/session.js';
import { firePendingWill } from '../session/will.js';
import type { ClusterDurability } from './durable.js';
import type { NodeCleanup } from './durable-port.js';
import { noteOwned } from './takeover.js';

/** Grace for appends already on their way to the dead node's inbox when its routes were removed. */
const INBOX_GRACE_MS = 300;

export async function adoptDeadNode(d: ClusterDurability, deadNodeId: string): Promise<NodeCleanup> {
  const ctx = d.ctx;
  const port = d.port;
  const result: NodeCleanup = { wills: 0, adopted: 0, folded: 0, messages: 0 };

  for (const will of await port.takeWills(deadNodeId)) {
    publishWill(ctx, will.clientId, will.message);
    result.wills++;
  }

  const adopted: Session[] = [];
  const folded = new Map<string, SessionSnapshot>();
  const store = ctx.ports.sessions;
  for (const clientId of await port.indexedSessions(deadNodeId)) {
    const registration = await port.adoptClient(clientId, deadNodeId, ctx.nodeId);
    const snapshot = store === undefined ? undefined : await store.load(clientId);
    if (snapshot === undefined) continue;
    if (registration === undefined || ctx.sessions.has(clientId)) {
      folded.set(clientId, snapshot);
      continue;
    }
    const session = restoreSession(ctx, snapshot);
    session.disconnectedAt = snapshot.disconnectedAt ?? ctx.clock.now();
    noteOwned(ctx, clientId, registration);
    ctx.sessionOffline(session); // expiry armed, snapshot saved
    await port.indexSession(ctx.nodeId, clientId);
    adopted.push(session);
  }
  result.adopted = adopted.length;

  await new Promise((resolve) => setTimeout(resolve, INBOX_GRACE_MS));
  result.messages = await port.drain(deadNodeId, (batch) => deliverToAdopted(d, batch, adopted, folded));
  if (store !== undefined) for (const snapshot of folded.values()) await store.save(snapshot);
  result.folded = folded.size;
  for (const clientId of await port.indexedSessions(deadNodeId)) await port.unindexSession(deadNodeId, clientId);
  return result;
}

function deliverToAdopted(d: ClusterDurability, batch: StoredMessage[], adopted: Session[], folded: Map<string, SessionSnapshot>): SessionSnapshot[] {
  const now = d.ctx.clock.now();
  const live = adopted.filter((s) => !s.ended && d.ctx.sessions.get(s.clientId) === s);
  const snapshots = d.savingTouched(() => {
    for (const stored of batch) {
      const message = fromStored(stored, now);
      for (const s of live) {
        const sub = bestMatch(s, stored);
        if (sub === undefined) continue;
        s.deliver(message, Math.min(sub.qos, stored.qos) as 0 | 1 | 2, sub.retainAsPublished && stored.retain, sub.subscriptionIds, undefined);
      }
    }
  }, live);
  for (const snapshot of folded.values()) {
    for (const stored of batch) {
      const sub = snapshot.subscriptions.find((x) => topicMatches(parseSharedFilter(x.topicFilter)?.filter ?? x.topicFilter, stored.topic));
      if (sub === undefined) continue;
      const qos = Math.min(sub.qos, stored.qos) as 0 | 1 | 2;
      if (qos === 0) continue;
      snapshot.queued.push({ message: stored, qos, retain: sub.retainAsPublished && stored.retain });
    }
  }
  return snapshots;
}

function bestMatch(s: Session, stored: StoredMessage): { qos: number; retainAsPublished: boolean; subscriptionIds: number[] | undefined } | undefined {
  let best: { qos: number; retainAsPublished: boolean; subscriptionIds: number[] | undefined } | undefined;
  for (const entry of s.subscriptions.values()) {
    if (entry.noLocal && stored.publisherId === s.clientId) continue;
    if (!topicMatches(entry.matchFilter, stored.topic)) continue;
    if (best === undefined || entry.qos > best.qos) best = { qos: entry.qos, retainAsPublished: entry.retainAsPublished, subscriptionIds: entry.subscriptionIds };
  }
  return best;
}

function publishWill(ctx: EngineContext, clientId: string, stored: StoredMessage): void {
  const message = fromStored(stored, ctx.clock.now());
  // the will path applies the authorizer and the $SYS rule, as for a local will [MQTT-3.1.2-8]
  const session = { clientId, identity: { clientId, username: undefined }, pendingWill: { message, timer: undefined } } as unknown as Session;
  firePendingWill(ctx, session);
}
