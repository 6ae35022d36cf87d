/**
 * Session takeover across nodes (ARCHITECTURE.md section 3, "Client registry and takeover").
 *
 * On CONNECT, when a ClientRegistry is configured, the node claims the client id (the epoch
 * grows by one per claim). If another node owned it, that node is asked over the bus to give it
 * up: it closes the old connection (5.0: DISCONNECT 0x8E, [MQTT-3.1.4-3]), saves the session to
 * the SessionStore and forgets it (its routes go with its last subscription), then confirms.
 * Only then does the new node load the session from the store, so queued messages and QoS 2
 * state move with it. Without durable inboxes a silent previous owner is not waited for past
 * TAKEOVER_TIMEOUT_MS; with them its answer is awaited until a survivor has cleaned up after it
 * (bounded by the port's cleanupWaitMs), and the session then comes from the survivor holding it
 * or from the store (docs/cluster.md, "Node failure").
 *
 * Limits: the old owner's will is not published on a cross-node takeover (the new connection
 * resumes the session). With durable inboxes a persistent session handed over stays subscribed
 * here as a stub until the new node has loaded it and its routes are visible, and forwards what
 * it caught (handover-forward.ts); without them a message that reaches the old node between its
 * handover and the new node's route is lost.
 */
import { ReasonCode } from '@mqtt-broker/mqtt-codec';
import type { Channel } from '../channel/channel.js';
import type { EngineContext } from '../engine-context.js';
import type { ClientRegistration } from '../ports.js';
import type { Message } from '../session/message.js';
import type { Session } from '../session/session.js';
import { cancelWill } from '../session/will.js';
import { durabilityOf } from './durable.js';
import type { DurablePort } from './durable-port.js';

/** How long a connecting client waits for the previous owner node to hand its session over. */
export const TAKEOVER_TIMEOUT_MS = 3000;

const owned = new WeakMap<EngineContext, Map<string, ClientRegistration>>();

/** Claims running on a node, by client id (a second CONNECT with the id waits for the first's claim). */
const claims = new WeakMap<EngineContext, Map<string, Promise<void>>>();

/**
 * Claims `clientId` for this node and, when another node owned it, waits for its handover. Claims
 * of one client id on one node run one after the other: a client that gives up waiting for its
 * CONNACK and connects again to the same node would otherwise register as its own previous owner,
 * load the session while the first claim still waits for the node that holds it, and that node's
 * copies (and its refused saves) would be lost.
 */
export async function claimClientId(ctx: EngineContext, clientId: string): Promise<void> {
  if (ctx.ports.registry === undefined) return;
  let running = claims.get(ctx);
  if (running === undefined) claims.set(ctx, (running = new Map()));
  const before = running.get(clientId);
  const claim = (before === undefined ? Promise.resolve() : before).then(() => claimAfter(ctx, clientId));
  running.set(clientId, claim);
  try {
    await claim;
  } finally {
    if (running.get(clientId) === claim) running.delete(clientId);
  }
}

async function claimAfter(ctx: EngineContext, clientId: string): Promise<void> {
  const registry = ctx.ports.registry;
  if (registry === undefined) return;
  try {
    const { registration, previous } = await registry.register(clientId, ctx.nodeId);
    let mine = owned.get(ctx);
    if (mine === undefined) owned.set(ctx, (mine = new Map()));
    mine.set(clientId, registration);
    const bus = ctx.ports.bus;
    if (previous === undefined || previous.nodeId === ctx.nodeId || bus?.takeover === undefined) return;
    const durable = durabilityOf(ctx)?.port;
    // With durable inboxes a live node's answer is waited for as long as a dead node's cleanup (a
    // node busy saving a large session answers late; giving up then left the client waiting for
    // the cleanup of a node that is alive, and the handover that came meanwhile was lost), and a
    // node that died before answering is cleaned up by a survivor: stop waiting for its answer
    // once that survivor has restored its sessions.
    const bound = durable === undefined ? TAKEOVER_TIMEOUT_MS : durable.cleanupWaitMs;
    const asked = bus.takeover(previous.nodeId, clientId, registration.epoch, bound);
    const adopted = durable === undefined ? undefined : watchPreviousOwner(ctx, durable, previous.nodeId, bound);
    const outcome = adopted === undefined ? await asked : await Promise.race([asked, adopted.done.then(() => 'adopted' as const)]);
    adopted?.leave();
    const handedOver = outcome === true;
    if (handedOver) durabilityOf(ctx)?.noteTakenOver(clientId);
    if (handedOver || durable === undefined) return;
    // refused at once (its heartbeat is gone): wait for the survivor's adoption
    if (outcome !== 'adopted') {
      const w = watchPreviousOwner(ctx, durable, previous.nodeId, durable.cleanupWaitMs);
      await w.done;
      w.leave();
    }
    // the survivor holds the session it adopted from the dead node: take it from there (the
    // survivor may be this node: the session is then here already)
    const holder = await durable.holder(clientId);
    if (holder !== undefined && holder !== ctx.nodeId && (await bus.takeover(holder, clientId, registration.epoch, TAKEOVER_TIMEOUT_MS))) {
      durabilityOf(ctx)?.noteTakenOver(clientId);
    }
  } catch (e) {
    ctx.reportPortError(e); // the registry is unreachable: serve the client from this node's state
  }
}

/** How often a waiting claim looks at its previous owner's state. */
const WATCH_INTERVAL_MS = 50;

/**
 * Waits (at most `boundMs`) until the dead or silent `nodeId` has been adopted by a survivor: its
 * persistent sessions restored there with their holders set (DurablePort.cleanupState). The client
 * need not wait for the survivor to drain the dead node's inbox: what the drain delivers follows a
 * session taken over meanwhile (adoption.ts). When the heartbeat is gone and no survivor has
 * started, this node starts the cleanup itself, so the client waits for the heartbeat TTL, not
 * for the next detection round as well. One poll per previous owner however many of its clients
 * reconnect here at once (a dead node's whole fleet does); it stops when no claim waits any more.
 */
function watchPreviousOwner(ctx: EngineContext, durable: DurablePort, nodeId: string, boundMs: number): { done: Promise<void>; leave(): void } {
  let mine = watches.get(ctx);
  if (mine === undefined) watches.set(ctx, (mine = new Map()));
  let watch = mine.get(nodeId);
  if (watch === undefined) mine.set(nodeId, (watch = new OwnerWatch(ctx, durable, nodeId, boundMs, mine)));
  return watch.join();
}

const watches = new WeakMap<EngineContext, Map<string, OwnerWatch>>();

/** The poll of one previous owner node, shared by the claims on this node that wait for it. */
class OwnerWatch {
  private waiters = 0;
  /** Resolves once a survivor restored the node's sessions (or nothing is left of it), at the bound, or when nobody waits. */
  readonly done: Promise<void>;

  constructor(
    private readonly ctx: EngineContext,
    private readonly durable: DurablePort,
    private readonly nodeId: string,
    boundMs: number,
    private readonly all: Map<string, OwnerWatch>,
  ) {
    this.done = this.poll(Date.now() + boundMs);
  }

  join(): { done: Promise<void>; leave(): void } {
    this.waiters++;
    let left = false;
    return {
      done: this.done,
      leave: () => {
        if (!left) this.waiters--;
        left = true;
      },
    };
  }

  private async poll(deadline: number): Promise<void> {
    let started = false;
    for (;;) {
      try {
        const state = await this.durable.cleanupState(this.nodeId);
        if (state === 'adopted' || state === 'cleaned') return this.end();
        if (state === 'dead' && !started) {
          started = true;
          this.durable.cleanUpNow(this.nodeId).catch((e: unknown) => this.ctx.reportPortError(e));
        }
      } catch (e) {
        this.ctx.reportPortError(e);
      }
      await new Promise((resolve) => setTimeout(resolve, WATCH_INTERVAL_MS));
      if (Date.now() >= deadline || this.waiters === 0) return this.end();
    }
  }

  /** Synchronously with the decision to stop: a claim arriving later starts a new watch. */
  private end(): void {
    if (this.all.get(this.nodeId) === this) this.all.delete(this.nodeId);
  }
}

/** True while a CONNECT of `clientId` on this node is claiming it (its session may arrive here soon). */
export function claimRunning(ctx: EngineContext, clientId: string): boolean {
  return claims.get(ctx)?.has(clientId) === true;
}

/** A survivor adopted `clientId` from a dead node: this node owns it now. */
export function noteOwned(ctx: EngineContext, clientId: string, registration: ClientRegistration): void {
  let mine = owned.get(ctx);
  if (mine === undefined) owned.set(ctx, (mine = new Map()));
  mine.set(clientId, registration);
}

/** The session ended here: release the registration (only if this node still owns it). */
export function releaseClientId(ctx: EngineContext, clientId: string): void {
  const mine = owned.get(ctx);
  const registration = mine?.get(clientId);
  if (registration === undefined || ctx.ports.registry === undefined) return;
  mine?.delete(clientId);
  ctx.ports.registry.unregister(clientId, registration).catch((e: unknown) => ctx.reportPortError(e));
}

/**
 * Another node took `clientId` over: close, save and forget the local session. A stopping node
 * waits for the handovers still running when its takeover service stopped (durable.ts, stop).
 */
export function handOver(ctx: EngineContext, clientId: string): Promise<void> {
  const p = handOverSession(ctx, clientId);
  durabilityOf(ctx)?.handovers.track(p);
  return p;
}

async function handOverSession(ctx: EngineContext, clientId: string): Promise<void> {
  // this node is restoring the session from a dead node right now: hand over what it restores
  const adoption = durabilityOf(ctx)?.handovers.adoptionOf(clientId);
  if (adoption !== undefined) await adoption;
  const session = ctx.sessions.get(clientId);
  if (session === undefined) return;
  const channel = session.outlet as Channel | undefined;
  if (channel !== undefined) channel.disconnect('session_taken_over', ReasonCode.SessionTakenOver, false);
  if (ctx.sessions.get(clientId) !== session || session.ended) return;
  if (session.expiryTimer !== undefined) ctx.clock.clearTimer(session.expiryTimer);
  session.expiryTimer = undefined;
  cancelWill(ctx, session);
  const store = ctx.ports.sessions;
  const saved = new Set<Message>();
  const stub = session.persistent && store !== undefined;
  if (stub) {
    const snapshot = session.snapshot();
    for (const m of pendingMessages(session)) saved.add(m);
    await store.save(snapshot);
  }
  if (ctx.sessions.get(clientId) !== session) return; // reconnected here meanwhile
  owned.get(ctx)?.delete(clientId);
  const durability = durabilityOf(ctx);
  durability?.sessionGone(clientId);
  session.ended = true;
  ctx.sessions.delete(clientId);
  if (!stub || durability === undefined) {
    ctx.router.unsubscribeAll(session);
    session.clearOutbound();
    return;
  }
  // What reached the session while the snapshot was being written was saved with its inbox entry,
  // maybe after that snapshot: the new node would load it and get it from the stub too. Saved once
  // more, now that the session has ended here (no other save of it follows); on failure the stub
  // forwards it instead.
  if (pendingMessages(session).some((m) => !saved.has(m))) {
    const last = pendingMessages(session);
    try {
      await store.save(session.snapshot());
      for (const m of last) saved.add(m);
    } catch (e) {
      ctx.reportPortError(e);
    }
  }
  // what arrived after the last snapshot is not in it: forwarded with what the stub catches
  const caught = pendingMessages(session).filter((m) => !saved.has(m));
  session.clearOutbound();
  // Marked as the session's holder: the stub lasts until the new owner has loaded the session (its
  // load removes the mark; it loads once this handover answered: handover-forward.ts). Only now,
  // after the fenced save was accepted (a refused one dropped the session above): the holder may
  // write the session, and a stale node that marked itself first would pass the fence.
  const marked = durability.port.setHolder(clientId, ctx.nodeId).catch((e: unknown) => ctx.reportPortError(e));
  const newOwner = (await ctx.ports.registry?.lookup(clientId).catch(() => undefined))?.nodeId;
  await marked;
  if (!durability.retireAfterHandover(session, newOwner, caught)) {
    ctx.router.unsubscribeAll(session);
    session.clearOutbound();
  }
}

/** QoS 1/2 messages a session holds (queued, or sent and not acknowledged). */
function pendingMessages(session: Session): Message[] {
  const out: Message[] = [];
  for (const p of session.queue) if (p.qos > 0) out.push(p.message);
  for (const e of session.inflight.values()) if (e.message !== undefined) out.push(e.message);
  return out;
}
