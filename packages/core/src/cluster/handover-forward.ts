/**
 * Closing the takeover window (docs/cluster.md, "Takeover without a gap").
 *
 * When node A hands a session over to node C (takeover.ts), A saves it and C loads it. If A
 * dropped the session's subscriptions at once, its routes would disappear before C's routes
 * appear, and a message published in between would match no route: acknowledged to its
 * publisher, delivered to nobody. So A keeps the handed-over session as a stub: removed from
 * its session map (a reconnect here claims it afresh from Redis) and emptied of everything the
 * saved snapshot holds, but still subscribed, so that what arrives meanwhile is queued in it.
 * Once C has loaded the session and A's own route replica shows C's route for every plain filter
 * of the session (or after STUB_MAX_MS), A drops the subscriptions and appends what the stub
 * caught (QoS 1/2) to C's inbox, addressed to that client only. The route alone is not enough:
 * C may have that route for other sessions already, and a copy C reads from its inbox before the
 * session is loaded there reaches nobody; if A's routes go meanwhile (A stops, or its other
 * subscribers leave), such a copy reaches only C and is lost (seen in rolling restarts: the
 * messages published between the old node's exit and the client's CONNACK on the new node).
 * C's load is seen in Redis: A marks itself as the session's holder before it saves the handover
 * snapshot, and the owner's load removes a holder (LOAD_SESSION). A publishing node may see C's
 * route later than A did and still send to A for a moment: for TOMBSTONE_MS a copy that reaches
 * A and matches the session's filters is passed to C the same way (the client not being here any
 * more).
 *
 * The overlap: a message published while both routes are visible reaches C twice (directly, and
 * through the stub or the tombstone). Every copy of a publish carries one id, and for a while
 * after a takeover C delivers an id once to the session, whichever copy comes first: the two are
 * appended by different nodes, so their order in C's inbox is not fixed (durable.ts, `fresh`).
 * What reached the session while A's handover snapshot was being written was saved with its inbox
 * entry, maybe after that snapshot: A saves the session once more after it ended there (takeover.ts),
 * so that the stub forwards only what is in no saved snapshot. A stub dies with its node: if A is
 * killed before it forwards, what it caught since the handover is lost.
 */
import { topicMatches } from '@mqtt-broker/topics';
import type { EngineContext } from '../engine-context.js';
import type { StoredMessage } from '../ports.js';
import type { Message } from '../session/message.js';
import type { Session } from '../session/session.js';

/** Longest time a stub waits for the new owner's load and routes. */
export const STUB_MAX_MS = 5000;
const POLL_MS = 5;
/** How often the stub asks Redis whether the new owner has loaded the session. */
const LOADED_POLL_MS = 20;

export interface RouteView {
  /** True when this node's replica has the route (filter, nodeId). */
  routeVisible(filter: string, nodeId: string): boolean;
}

export interface StubForwarder {
  append(nodeId: string, message: Message, clientId: string): void;
  /**
   * After the stub is gone: copies that still arrive here for these filters go to `nodeId` too.
   * `confirmed`: `nodeId` had loaded the session and its routes were visible here (not the timeout).
   */
  tombstone(clientId: string, filters: string[], nodeId: string, confirmed: boolean): void;
}

/**
 * Keeps `session`'s subscriptions until `newOwner` has loaded it (`loaded`, when given) and its
 * routes are visible, then forwards what it caught.
 */
export async function retireStub(
  ctx: EngineContext,
  session: Session,
  newOwner: string | undefined,
  view: RouteView,
  out: StubForwarder,
  caught: Message[],
  loaded?: () => Promise<boolean>,
): Promise<void> {
  const filters: string[] = [];
  for (const entry of session.subscriptions.values()) if (entry.group === undefined) filters.push(entry.matchFilter);
  const deadline = Date.now() + STUB_MAX_MS;
  let isLoaded = loaded === undefined || newOwner === ctx.nodeId;
  let askedAt = 0;
  let confirmed = false;
  while (newOwner !== undefined && Date.now() < deadline) {
    if (!isLoaded && Date.now() - askedAt >= LOADED_POLL_MS) {
      askedAt = Date.now();
      isLoaded = await (loaded as () => Promise<boolean>)().catch(() => false);
    }
    confirmed = isLoaded && filters.every((f) => view.routeVisible(f, newOwner));
    if (confirmed) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  for (const p of session.queue) if (p.qos > 0) caught.push(p.message);
  for (const e of session.inflight.values()) if (e.message !== undefined) caught.push(e.message);
  dropSubscriptions(ctx, session);
  session.clearOutbound();
  if (newOwner === undefined || newOwner === ctx.nodeId) return;
  for (const m of caught) out.append(newOwner, m, session.clientId);
  out.tombstone(session.clientId, filters, newOwner, confirmed);
}

/**
 * The router keys plain subscriptions by client id: if the client came back here meanwhile, its
 * new session's entries replaced the stub's ones, which must then not be removed from the router.
 */
function dropSubscriptions(ctx: EngineContext, stub: Session): void {
  const current = ctx.sessions.get(stub.clientId);
  for (const [topicFilter, entry] of [...stub.subscriptions]) {
    if (current !== undefined && current !== stub && entry.group === undefined && current.subscriptions.has(topicFilter)) stub.subscriptions.delete(topicFilter);
    else ctx.router.unsubscribe(stub, topicFilter);
  }
}

/** A copy addressed to one client (caught by a stub): delivered to that session if it is here. */
export function deliverToClient(ctx: EngineContext, clientId: string, stored: StoredMessage, message: Message): boolean {
  const s = ctx.sessions.get(clientId);
  if (s === undefined) return false;
  let qos = -1;
  let retainAsPublished = false;
  let subscriptionIds: number[] | undefined;
  for (const entry of s.subscriptions.values()) {
    if (!topicMatches(entry.matchFilter, stored.topic) || entry.qos <= qos) continue;
    qos = entry.qos;
    retainAsPublished = entry.retainAsPublished;
    subscriptionIds = entry.subscriptionIds;
  }
  if (qos < 0) return false;
  s.deliver(message, Math.min(qos, stored.qos) as 0 | 1 | 2, retainAsPublished && stored.retain, subscriptionIds, undefined);
  return true;
}

/**
 * Bookkeeping of one node's handovers (ClusterDurability.handovers): the handovers still running
 * (a stopping node waits for them: one that started before its takeover service stopped adds its
 * stub afterwards), where each handed-over session went (a survivor that adopted a session and
 * handed it over before draining the dead node's inbox passes the drained copies on there,
 * adoption.ts), and the sessions a survivor is restoring right now (a takeover request for one
 * waits for its restore, takeover.ts: answered before it, it would find nothing to hand over, and
 * the session restored afterwards would take the dead node's copies where the client is not).
 */
export class HandoverRecords {
  readonly running = new Set<Promise<void>>();
  private readonly successors = new WeakMap<Session, { nodeId: string; filters: string[] }>();
  private readonly adoptions = new Map<string, Promise<void>>();

  /** A handover started (takeover.ts): tracked until it settles (its errors are reported by its caller). */
  track(p: Promise<void>): void {
    const tracked: Promise<void> = p.catch(() => {}).finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** `session` was handed over to `nodeId`: its plain filters are recorded with it. */
  movedTo(session: Session, nodeId: string): void {
    const filters: string[] = [];
    for (const entry of session.subscriptions.values()) if (entry.group === undefined) filters.push(entry.matchFilter);
    this.successors.set(session, { nodeId, filters });
  }

  /** Where `session` went when it was handed over from here (its new node and plain filters). */
  successorOf(session: Session): { nodeId: string; filters: string[] } | undefined {
    return this.successors.get(session);
  }

  /** A survivor starts restoring `clientId`'s session from a dead node; returns the call that ends it. */
  beginAdoption(clientId: string): () => void {
    let done = (): void => {};
    const p = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.adoptions.set(clientId, p);
    return () => {
      if (this.adoptions.get(clientId) === p) this.adoptions.delete(clientId);
      done();
    };
  }

  /** The restore of `clientId` by a running adoption, if there is one. */
  adoptionOf(clientId: string): Promise<void> | undefined {
    return this.adoptions.get(clientId);
  }
}
