/**
 * Will messages (MQTT 5.0 3.1.2.5, 3.1.3.2; 3.1.1 3.1.2.5).
 *
 * A will becomes pending when the connection ends without a normal DISCONNECT (keep-alive
 * timeout, network loss, protocol error, takeover, or DISCONNECT 0x04). It is published after
 * its Will Delay Interval or when the session ends, whichever comes first, and not at all if a
 * new connection resumes the session before that [MQTT-3.1.3-9]. The will is published as if
 * its client had published it: the authorizer's canPublish applies, and $SYS topics are refused.
 */
import type { ProtocolVersion, Properties, Will } from '@mqtt-broker/mqtt-codec';
import type { EngineContext } from '../engine-context.js';
import { createMessage } from './message.js';
import type { Session } from './session.js';

export function scheduleWill(ctx: EngineContext, session: Session, will: Will, version: ProtocolVersion): void {
  let properties: Properties | undefined;
  let delay = 0;
  if (version === 5 && will.properties !== undefined) {
    const { willDelayInterval, ...rest } = will.properties;
    delay = willDelayInterval ?? 0;
    properties = Object.keys(rest).length > 0 ? rest : undefined;
  }
  const message = createMessage(will.topic, will.payload, will.qos, will.retain, properties, session.clientId, ctx.clock.now());
  message.owned = false;
  cancelWill(ctx, session);
  session.pendingWill = { message, timer: undefined };
  if (delay === 0 || session.expiryInterval === 0) {
    firePendingWill(ctx, session);
    return;
  }
  session.pendingWill.timer = ctx.clock.setTimer(delay * 1000, () => firePendingWill(ctx, session));
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
  const message = pending.message;
  if (message.topic.startsWith('$SYS')) {
    ctx.observer.messageDropped(message.qos, 'not_authorized');
    return;
  }
  const authorizer = ctx.authorizer;
  if (authorizer?.canPublish !== undefined && !authorizer.canPublish(session.identity, message.topic)) {
    ctx.observer.messageDropped(message.qos, 'not_authorized');
    return;
  }
  // Will payload stays valid: the will's Buffer came from a parsed CONNECT and is copied on retain/queue.
  message.expiresAt = message.expiryInterval > 0 ? ctx.clock.now() + message.expiryInterval * 1000 : 0;
  ctx.observer.messagePublished(message.qos);
  if (ctx.publishInternal(message) === 0) ctx.observer.messageDropped(message.qos, 'no_subscribers');
}
