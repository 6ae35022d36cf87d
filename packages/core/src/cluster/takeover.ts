/**
 * Session takeover across nodes (ARCHITECTURE.md section 3, "Client registry and takeover").
 *
 * On CONNECT, when a ClientRegistry is configured, the node claims the client id (the epoch
 * grows by one per claim). If another node owned it, that node is asked over the bus to give it
 * up: it closes the old connection (5.0: DISCONNECT 0x8E, [MQTT-3.1.4-3]), saves the session to
 * the SessionStore and forgets it (its routes go with its last subscription), then confirms.
 * Only then does the new node load the session from the store, so queued messages and QoS 2
 * state move with it. A dead or silent previous owner is not waited for past the timeout; the
 * store then holds what that node saved last.
 *
 * Limits: the old owner's will is not published on a cross-node takeover (the new connection
 * resumes the session). With durable inboxes a persistent session handed over stays subscribed
 * here as a stub until the new node's routes are visible and forwards what it caught
 * (handover-forward.ts); without them a message that reaches the old node between its handover
 * and the new node's route is lost.
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

/** Claims `clientId` for this node and, when another node owned it, waits for its handover. */
export async function claimClientId(ctx: EngineContext, clientId: string): Promise<void> {
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
    const asked = bus.takeover(previous.nodeId, clientId, registration.epoch, TAKEOVER_TIMEOUT_MS);
    // a node that died before answering is cleaned up by a survivor: stop waiting for its answer then
    const handedOver = durable === undefined ? await asked : await Promise.race([asked, waitForCleanup(durable, previous.nodeId, TAKEOVER_TIMEOUT_MS).then(() => false)]);
    if (handedOver) durabilityOf(ctx)?.noteTakenOver(clientId);
    if (handedOver || durable === undefined) return;
    await waitForCleanup(durable, previous.nodeId, durable.cleanupWaitMs);
    // the survivor may hold the session it adopted from the dead node: take it from there
    const holder = await durable.holder(clientId);
    if (holder !== undefined && holder !== ctx.nodeId && (await bus.takeover(holder, clientId, registration.epoch, TAKEOVER_TIMEOUT_MS))) {
      durabilityOf(ctx)?.noteTakenOver(clientId);
    }
  } catch (e) {
    ctx.reportPortError(e); // the registry is unreachable: serve the client from this node's state
  }
}

/**
 * The previous owner is dead or silent: its inbox may still hold messages for this client. The
 * survivor that cleans up after it folds them into the saved session and marks the node cleaned;
 * wait for that (bounded by the port's cleanupWaitMs) before the session is loaded.
 */
async function waitForCleanup(durable: DurablePort, nodeId: string, boundMs: number): Promise<boolean> {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    if (await durable.isCleaned(nodeId)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
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

/** Another node took `clientId` over: close, save and forget the local session. */
export async function handOver(ctx: EngineContext, clientId: string): Promise<void> {
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
  const newOwner = (await ctx.ports.registry?.lookup(clientId).catch(() => undefined))?.nodeId;
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
