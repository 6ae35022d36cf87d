/** Rebuilds a live session (and its router entries) from a SessionStore snapshot. */
import { parseSharedFilter } from '@mqtt-broker/topics';
import type { EngineContext } from '../engine-context.js';
import type { SessionSnapshot } from '../ports.js';
import { makeSubEntry } from '../router/sub-entry.js';
import { Session } from './session.js';

export function restoreSession(ctx: EngineContext, snapshot: SessionSnapshot): Session {
  const session = new Session(ctx, snapshot.clientId, undefined, snapshot.protocolVersion);
  // authorized as its last connection until a new one replaces the identity (connect.ts)
  if (snapshot.identity !== undefined) session.setIdentity(snapshot.identity.username, snapshot.identity.attributes);
  session.restoreState(snapshot);
  for (const s of snapshot.subscriptions) {
    const shared = parseSharedFilter(s.topicFilter);
    const group = shared !== undefined ? ctx.router.groupFor(shared.group, shared.filter) : undefined;
    ctx.router.subscribe(
      makeSubEntry(session, s.topicFilter, shared?.filter ?? s.topicFilter, s.qos, s.noLocal, s.retainAsPublished, s.retainHandling, s.subscriptionIdentifier, group),
    );
  }
  ctx.sessions.set(session.clientId, session);
  return session;
}
