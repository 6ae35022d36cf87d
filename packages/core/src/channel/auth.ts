/**
 * MQTT 5 enhanced authentication (4.12): the AUTH exchange during CONNECT and re-authentication
 * (AUTH 0x19) on a connected channel. The authenticator's steps may be async; the channel waits
 * for the client's next AUTH through `authWaiter` (packets other than AUTH that arrive during a
 * CONNECT-time exchange are held by the channel and replayed after the CONNACK).
 */
import { type AuthPacket, PacketType, ReasonCode } from '@mqtt-broker/mqtt-codec';
import type { AuthGrant, AuthRequest, EnhancedAuthStep } from '../api.js';
import type { Channel } from './channel.js';

const MAX_ROUNDS = 32;

export type EnhancedOutcome = { ok: true; data: Buffer | undefined; grant: AuthGrant } | { ok: false; reasonCode: number };

function waitForAuth(ch: Channel): Promise<AuthPacket> {
  return new Promise((resolve) => {
    ch.authWaiter = resolve;
  });
}

async function exchange(ch: Channel, method: string, data: Buffer | undefined, request: AuthRequest): Promise<EnhancedOutcome | 'closed'> {
  const authenticator = ch.ctx.authenticator;
  if (authenticator?.startEnhanced === undefined || !(authenticator.enhancedMethods ?? []).includes(method)) {
    return { ok: false, reasonCode: ReasonCode.BadAuthenticationMethod }; // [MQTT-4.12.0-1]
  }
  let step: EnhancedAuthStep = await authenticator.startEnhanced(method, data, request);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (ch.isClosed()) return 'closed';
    if (step.done) return step.ok ? { ok: true, data: step.data, grant: grantOf(step) } : { ok: false, reasonCode: step.reasonCode };
    ch.send({
      type: PacketType.AUTH,
      reasonCode: ReasonCode.ContinueAuthentication,
      properties: { authenticationMethod: method, authenticationData: step.data },
    });
    const reply = await waitForAuth(ch);
    if (ch.isClosed()) return 'closed';
    // [MQTT-4.12.0-5] the method must stay the same; the client continues with 0x18
    if (reply.reasonCode !== ReasonCode.ContinueAuthentication || reply.properties?.authenticationMethod !== method) {
      return { ok: false, reasonCode: ReasonCode.ProtocolError };
    }
    if (authenticator.continueEnhanced === undefined) return { ok: false, reasonCode: ReasonCode.BadAuthenticationMethod };
    step = await authenticator.continueEnhanced(method, reply.properties?.authenticationData, request);
  }
  return { ok: false, reasonCode: ReasonCode.NotAuthorized };
}

function grantOf(step: AuthGrant): AuthGrant {
  return {
    ...(step.username !== undefined ? { username: step.username } : {}),
    ...(step.attributes !== undefined ? { attributes: step.attributes } : {}),
    ...(step.expiresAt !== undefined ? { expiresAt: step.expiresAt } : {}),
  };
}

/** The CONNECT-time exchange. */
export async function runEnhancedAuth(ch: Channel, method: string, data: Buffer | undefined, request: AuthRequest): Promise<EnhancedOutcome | 'closed'> {
  ch.authMethod = method;
  return exchange(ch, method, data, request);
}

/** An AUTH packet on a connected channel: re-authentication start (0x19) or its continuation (0x18). */
export function handleReauth(ch: Channel, packet: AuthPacket): void {
  const method = packet.properties?.authenticationMethod;
  if (ch.authMethod === undefined || method !== ch.authMethod) {
    // [MQTT-4.12.1-1] re-authentication uses the method of the CONNECT
    ch.protocolError(ReasonCode.ProtocolError, 'AUTH without the Authentication Method of the CONNECT');
    return;
  }
  if (ch.authWaiter !== undefined) {
    const waiter = ch.authWaiter;
    ch.authWaiter = undefined;
    waiter(packet);
    return;
  }
  if (packet.reasonCode !== ReasonCode.ReAuthenticate) {
    ch.protocolError(ReasonCode.ProtocolError, 'unexpected AUTH reason code');
    return;
  }
  void reauthenticate(ch, method, packet.properties?.authenticationData);
}

async function reauthenticate(ch: Channel, method: string, data: Buffer | undefined): Promise<void> {
  let outcome: EnhancedOutcome | 'closed';
  try {
    outcome = await exchange(ch, method, data, ch.authRequest!);
  } catch {
    outcome = { ok: false, reasonCode: ReasonCode.UnspecifiedError };
  }
  if (outcome === 'closed' || ch.isClosed()) return;
  if (!outcome.ok) {
    ch.disconnect('auth_failed', outcome.reasonCode, true, 're-authentication failed');
    return;
  }
  // A re-authentication may not change who the client is: the ACL was chosen for that name.
  const session = ch.session;
  const grant = outcome.grant;
  if (session !== undefined && (grant.username ?? ch.authRequest?.username) !== session.identity.username) {
    ch.disconnect('auth_failed', ReasonCode.NotAuthorized, true, 're-authentication as another user');
    return;
  }
  if (grant.expiresAt !== undefined && grant.expiresAt <= ch.ctx.clock.now()) {
    ch.disconnect('auth_failed', ReasonCode.NotAuthorized, true, 're-authentication with expired credentials');
    return;
  }
  if (session !== undefined && grant.attributes !== undefined) session.setIdentity(session.identity.username, grant.attributes);
  ch.armAuthExpiry(grant.expiresAt);
  ch.send({
    type: PacketType.AUTH,
    reasonCode: ReasonCode.Success,
    properties: { authenticationMethod: method, ...(outcome.data !== undefined ? { authenticationData: outcome.data } : {}) },
  });
}
