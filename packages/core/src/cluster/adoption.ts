/**
 * After another node died or left (docs/cluster.md, "Node failure", "Drain"): run by the one
 * survivor that won the node's cleanup lock. The dead node's routes are still there (publishers
 * keep appending to its inbox); they are removed once the adopted sessions' routes are written,
 * so that a message published meanwhile matches one or the other.
 *
 * 1. Wills: every will the dead node's clients left in shared storage is taken: a live
 *    connection's will (and one already due) is published now, one still waiting (Will Delay
 *    Interval, drain grace) waits here and is published when due unless its client came back
 *    (wills.ts).
 * 2. Sessions: each persistent session the dead node held is restored here from its last saved
 *    snapshot as an offline session, with its subscriptions (so routes now point to this node)
 *    and its expiry. When the dead node still owns the client id it moves to this node (registry
 *    compare-and-set) and a client that reconnects later anywhere takes the session over from
 *    here as usual. When the client is already reconnecting on another node, that node is
 *    waiting for this cleanup (takeover.ts): a short-lived holder hint tells it to take the
 *    session over from here once the cleanup is done.
 * 3. Routes: the dead node's routes are removed (after the adopted sessions' route writes, on
 *    the same connection: every replica sees the new routes first).
 * 4. Inbox: after a grace for appends on their way, every batch left in the dead node's inbox
 *    (appended, not yet acknowledged into the sessions' saved state) is delivered to the adopted
 *    sessions whose subscriptions match and saved with them; then the inbox is deleted. A copy
 *    that already reached an adopted session directly (same message id, published while both
 *    routes existed) is not delivered again.
 *    Clients already reconnecting elsewhere stop waiting once step 3 is done (DurablePort.markAdopted)
 *    and take their session over from here while the drain runs: what it delivers to a session taken
 *    over follows it (stub, then addressed), and a reconnected client here gets it under flow control.
 * 5. The membership then drops the dead node.
 */
import { topicMatches } from '@mqtt-broker/topics';
import type { SessionSnapshot, StoredMessage } from '../ports.js';
import { fromStored } from '../session/message.js';
import { beginFeed, endFeed } from '../session/flow-control.js';
import { restoreSession } from '../session/restore.js';
import type { Session } from '../session/session.js';
import type { ClusterDurability } from './durable.js';
import type { DurableMessage, MovedClient, NodeCleanup, SharedTarget } from './durable-port.js';
import { noteOwned } from './takeover.js';

/** Grace for appends already on their way to the dead node's inbox when its routes were removed. */
const INBOX_GRACE_MS = 300;

export async function adoptDeadNode(d: ClusterDurability, deadNodeId: string): Promise<NodeCleanup> {
  const ctx = d.ctx;
  const port = d.port;
  const result: NodeCleanup = { wills: 0, adopted: 0, claimed: 0, messages: 0 };

  result.wills = await d.wills.adopt(deadNodeId);

  const adopted: Session[] = [];
  for (const clientId of await port.indexedSessions(deadNodeId)) {
    const done = d.handovers.beginAdoption(clientId);
    try {
      const session = await adoptSession(d, deadNodeId, clientId, result);
      if (session !== undefined) adopted.push(session);
    } finally {
      done();
    }
  }
  result.adopted = adopted.length;

  // the adopted sessions' routes were written above (same connection, so applied first)
  await ctx.ports.routes?.removeNode(deadNodeId);
  await port.markAdopted(deadNodeId); // clients waiting for the dead node take their session from here now
  await new Promise((resolve) => setTimeout(resolve, INBOX_GRACE_MS));
  const moved = (await port.takeMoved?.(deadNodeId)) ?? [];
  const passed: Array<Promise<void>> = [];
  // held back while a reconnected client's session is congested, like the node's own inbox
  result.messages = await port.drain(
    deadNodeId,
    (batch) => deliverToAdopted(d, batch, adopted, moved, passed),
    false,
    () => d.flowHeld(),
  );
  await Promise.allSettled(passed);
  for (const clientId of await port.indexedSessions(deadNodeId)) await port.unindexSession(deadNodeId, clientId);
  drainOrphaned(d, deadNodeId, adopted, moved);
  return result;
}

/**
 * A publishing node whose route replica lags (CPU-starved, or paused by its pod's CPU limit) may
 * still append to the dead node's inbox after the grace and the drain: the append is acknowledged
 * and, without this, read by nobody (suspected of the loss seen in issue 8 under a load average
 * of 20+). Such a node sees the route removal within about a heartbeat TTL or is taken for dead
 * itself, so the inbox is looked at again a few times over that span (DurablePort.orphanChecksMs,
 * from the heartbeat TTL), and the last look seals it: a node lagging even longer has its append
 * refused (its publisher is not acknowledged and sends again) instead of stored where nobody reads.
 */
function drainOrphaned(d: ClusterDurability, deadNodeId: string, adopted: Session[], moved: MovedClient[]): void {
  const drainLate = d.port.drainOrphaned?.bind(d.port);
  const checks = d.port.orphanChecksMs;
  if (drainLate === undefined || checks === undefined) return;
  const check = (i: number): void => {
    if (i >= checks.length) return;
    setTimeout(() => {
      if (!d.running) return;
      const passed: Array<Promise<void>> = [];
      drainLate(deadNodeId, (batch) => deliverToAdopted(d, batch, adopted, moved, passed), i === checks.length - 1)
        .then(() => Promise.allSettled(passed))
        .catch((e: unknown) => d.ctx.reportPortError(e))
        .finally(() => check(i + 1));
    }, checks[i] - (i > 0 ? checks[i - 1] : 0)).unref();
  };
  check(0);
}

/** Step 2 for one client: the session restored here (or already live here), undefined when there is none. */
async function adoptSession(d: ClusterDurability, deadNodeId: string, clientId: string, result: NodeCleanup): Promise<Session | undefined> {
  const ctx = d.ctx;
  const port = d.port;
  const store = ctx.ports.sessions;
  const registration = await port.adoptClient(clientId, deadNodeId, ctx.nodeId);
  // copies reaching the session directly from now on are not delivered again from the dead inbox:
  // opened before its routes exist (restoreSession), a copy routed here during an await below was
  // delivered unrecorded and then drained a second time
  d.noteTakenOver(clientId);
  const local = ctx.sessions.get(clientId);
  if (local !== undefined) return local; // already live here: the inbox goes to it
  const snapshot = store === undefined ? undefined : await store.load(clientId);
  if (snapshot === undefined || ctx.sessions.has(clientId)) return undefined;
  const session = restoreSession(ctx, snapshot);
  session.disconnectedAt = snapshot.disconnectedAt ?? ctx.clock.now();
  if (registration !== undefined) {
    noteOwned(ctx, clientId, registration);
    d.wills.adoptedClient(clientId, registration.epoch); // its waiting will: adopted, not reconnected
  } else {
    await port.setHolder(clientId, ctx.nodeId);
    result.claimed++;
  }
  ctx.sessionOffline(session); // expiry armed, snapshot saved
  await port.indexSession(ctx.nodeId, clientId);
  return session;
}

function deliverToAdopted(d: ClusterDurability, batch: DurableMessage[], adopted: Session[], moved: MovedClient[], passed: Array<Promise<void>>): SessionSnapshot[] {
  const now = d.ctx.clock.now();
  const live = adopted.filter((s) => !s.ended && d.ctx.sessions.get(s.clientId) === s);
  // the duplicate filter stays open while the drain runs (for sessions handed over since too): a
  // drain held back by a slow reconnected client may reach a copy long after its direct twin
  for (const s of adopted) d.noteTakenOver(s.clientId);
  // Adopted here, then taken over by the client's new node before this drain (the drained copies
  // would otherwise reach nobody, and the entry is deleted): a handed-over session that is still
  // subscribed (ended here, a stub: only a handover keeps the subscriptions of an ended session)
  // takes them and its stub forwards what it holds (handover-forward.ts); a retired stub's copies
  // follow the client to its new node, addressed.
  const stubs = adopted.filter((s) => s.ended && s.subscriptions.size > 0);
  const left: MovedClient[] = [];
  for (const s of adopted) {
    const next = live.includes(s) || stubs.includes(s) ? undefined : d.handovers.successorOf(s);
    if (next !== undefined) left.push({ clientId: s.clientId, nodeId: next.nodeId, filters: next.filters, until: Number.POSITIVE_INFINITY });
  }
  const reached = stubs.length === 0 ? live : [...live, ...stubs];
  return d.savingTouched(() => {
    beginFeed(d); // a congested connected session holds the drain back (flow-control.ts)
    try {
      deliverEach(d, batch, reached, now, left.length === 0 ? moved : [...moved, ...left], passed);
    } finally {
      endFeed();
    }
  }, live);
}

/** The drained copies of one entry to the adopted sessions they match, or on to where their client went. */
function deliverEach(d: ClusterDurability, batch: DurableMessage[], reached: Session[], now: number, following: MovedClient[], passed: Array<Promise<void>>): void {
  for (const { message: stored, target, id } of batch) {
    const message = fromStored(stored, now);
    // a client the dead node handed over in its last seconds, or one this node handed over since
    // it adopted the session: the copy follows it (its new node drops a copy it already got)
    if (target === undefined) {
      for (const m of following) {
        if (m.until < Date.now() || !m.filters.some((f) => topicMatches(f, stored.topic))) continue;
        // its direct twin reached the session here before the handover: it went with the session
        if (d.seenBefore(m.clientId, id)) {
          d.stats.duplicatesSkipped++;
          continue;
        }
        passed.push(d.port.append(m.nodeId, { message: stored, forClient: m.clientId, ...(id !== undefined ? { id } : {}) }).catch((e: unknown) => d.ctx.reportPortError(e)));
      }
    }
    for (const s of reached) {
      const sub = bestMatch(s, stored, target);
      if (sub === undefined) continue;
      if (target === undefined && d.seenBefore(s.clientId, id)) {
        d.stats.duplicatesSkipped++;
        continue;
      }
      s.deliver(message, Math.min(sub.qos, stored.qos) as 0 | 1 | 2, sub.retainAsPublished && stored.retain, sub.subscriptionIds, undefined);
      if (target !== undefined) break; // a shared copy goes to one member
    }
  }
}

/** The subscription of `s` a message reaches: plain ones for a plain copy, the target group's for a shared copy. */
function bestMatch(s: Session, stored: StoredMessage, target: SharedTarget | undefined): { qos: number; retainAsPublished: boolean; subscriptionIds: number[] | undefined } | undefined {
  let best: { qos: number; retainAsPublished: boolean; subscriptionIds: number[] | undefined } | undefined;
  for (const entry of s.subscriptions.values()) {
    if (target === undefined ? entry.group !== undefined : entry.group?.name !== target.group || entry.matchFilter !== target.filter) continue;
    if (entry.noLocal && stored.publisherId === s.clientId) continue;
    if (!topicMatches(entry.matchFilter, stored.topic)) continue;
    if (best === undefined || entry.qos > best.qos) best = { qos: entry.qos, retainAsPublished: entry.retainAsPublished, subscriptionIds: entry.subscriptionIds };
  }
  return best;
}
