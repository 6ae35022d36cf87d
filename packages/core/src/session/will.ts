/**
 * Will messages (MQTT 5.0 3.1.2.5, 3.1.3.2; 3.1.1 3.1.2.5).
 *
 * A will becomes pending when the connection ends without a normal DISCONNECT (keep-alive
 * timeout, network loss, protocol error, takeover, or DISCONNECT 0x04). It is published after
 * its Will Delay Interval or when the session ends, whichever comes first, and not at all if a
 * new connection resumes the session before that [MQTT-3.1.3-9]. The will is published as if
 * its client had published it: the authorizer's canPublish applies, and $SYS topics are refused.
 *
 * In a cluster the will is also kept in shared storage while it waits (cluster/wills.ts), so that
 * a survivor publishes it when due if this node dies meanwhile. A connection the server closes
 * because it shuts down (drain) does not publish the will here: in a cluster the will is held
 * for max(Will Delay Interval, drain grace) and published by whichever node has it then, only if
 * the client did not come back (docs/cluster.md, "Drain"); a single node has no one to hand it to.
 */
import type { ProtocolVersion, Properties, Will } from '@mqtt-broker/mqtt-codec';
import type { ClientIdentity } from '../api.js';
import { durabilityOf } from '../cluster/durable.js';
import type { EngineContext } from '../engine-context.js';
import { createMessage, type Message } from './message.js';
import type { Session } from './session.js';

/** The will's message (Will Delay Interval taken out of its properties) and that delay in seconds. */
function willMessage(ctx: EngineContext, session: Session, will: Will, version: ProtocolVersion): { message: Message; delay: number } {
  let properties: Properties | undefined;
  let delay = 0;
  if (version === 5 && will.properties !== undefined) {
    const { willDelayInterval, ...rest } = will.properties;
    delay = willDelayInterval ?? 0;
    properties = Object.keys(rest).length > 0 ? rest : undefined;
  }
  const message = createMessage(will.topic, will.payload, will.qos, will.retain, properties, session.clientId, ctx.clock.now());
  message.owned = false;
  return { message, delay };
}

export function scheduleWill(ctx: EngineContext, session: Session, will: Will, version: ProtocolVersion): void {
  const { message, delay } = willMessage(ctx, session, will, version);
  cancelWill(ctx, session);
  session.pendingWill = { message, timer: undefined };
  if (delay === 0 || session.expiryInterval === 0) {
    firePendingWill(ctx, session);
    return;
  }
  session.pendingWill.timer = ctx.clock.setTimer(delay * 1000, () => firePendingWill(ctx, session));
  // published when the session ends if that comes first [MQTT-3.1.3-9]: due then on a survivor too
  const dueInMs = Math.min(delay, session.expiryInterval) * 1000;
  durabilityOf(ctx)?.wills.pending(session, message, delay, Date.now() + dueInMs);
}

/**
 * The server closed the connection because it shuts down (drain, close): the will is neither
 * published nor discarded here. In a cluster it is held for the client to come back elsewhere
 * (cluster/wills.ts); without one it is dropped with the node, as before.
 */
export function holdWillOnShutdown(ctx: EngineContext, session: Session, will: Will, version: ProtocolVersion): void {
  const wills = durabilityOf(ctx)?.wills;
  if (wills === undefined) return;
  const { message, delay } = willMessage(ctx, session, will, version);
  wills.holdOnShutdown(session, message, delay);
}

export function cancelWill(ctx: EngineContext, session: Session): void {
  const pending = session.pendingWill;
  if (pending === undefined) return;
  if (pending.timer !== undefined) ctx.clock.clearTimer(pending.timer);
  session.pendingWill = undefined;
}

export function firePendingWill(ctx: EngineContext, session: Session): void {
  const pending = session.pendingWill;
  if (pending === undefined) return;
  cancelWill(ctx, session);
  durabilityOf(ctx)?.wills.done(session.clientId);
  publishWill(ctx, session.identity, pending.message);
}

/** Publishes a will as its client would have: the $SYS rule and the authorizer apply [MQTT-3.1.2-8]. */
export function publishWill(ctx: EngineContext, identity: ClientIdentity, message: Message): void {
  if (message.topic.startsWith('$SYS')) {
    ctx.observer.messageDropped(message.qos, 'not_authorized');
    return;
  }
  const authorizer = ctx.authorizer;
  if (authorizer?.canPublish !== undefined && !authorizer.canPublish(identity, message.topic)) {
    ctx.observer.messageDropped(message.qos, 'not_authorized');
    return;
  }
  // Will payload stays valid: the will's Buffer came from a parsed CONNECT and is copied on retain/queue.
  message.expiresAt = message.expiryInterval > 0 ? ctx.clock.now() + message.expiryInterval * 1000 : 0;
  ctx.observer.messagePublished(message.qos);
  if (ctx.publishInternal(message) === 0) ctx.observer.messageDropped(message.qos, 'no_subscribers');
}
