/**
 * What happens to a PUBLISH over a quota (quota/publish-quota.ts). 5.0: DISCONNECT 0x96 Message
 * rate too high (message quotas) or 0x97 Quota exceeded (byte quotas). 3.1.1 has no way to say
 * why, and a closed device usually reconnects at once, so it gets QUOTA_GRACE_SECONDS: meanwhile
 * its messages over the quota are dropped (still acknowledged, 3.1.1 cannot refuse). Refused again
 * after the grace, it is closed; a pause of QUOTA_BURST_SECONDS without a refusal forgives it
 * (the next refusal starts a new grace). Dropped, not held:
 * holding is PUBLISH_RATE_PER_CLIENT's job, and held messages would be delivered beyond the quota.
 */
import { ReasonCode } from '@mqtt-broker/mqtt-codec';
import type { QuotaName } from '../api.js';
import type { PublishQuota } from '../quota/publish-quota.js';
import type { Channel } from './channel.js';

/** True when the PUBLISH fits; false when it is refused (the channel may then be closed). */
export function admitPublish(ch: Channel, quota: PublishQuota, size: number): boolean {
  const ctx = ch.ctx;
  const now = ctx.clock.now();
  const over = quota.admit(size, now);
  if (over === undefined) return true;
  ctx.observer.quotaRefused(over);
  const limits = ctx.limits;
  const graceMs = limits.quotaGraceSeconds * 1000;
  // an episode over the quota ends once a whole burst's time passed without a refusal
  const newEpisode = quota.overSince === undefined || now - quota.lastRefused >= limits.quotaBurstSeconds * 1000;
  quota.lastRefused = now;
  if (ch.protocolVersion === 5 || graceMs === 0 || (!newEpisode && now - (quota.overSince as number) >= graceMs)) {
    report(ch, over, 'disconnected');
    const code = over === 'messages' || over === 'user_messages' ? ReasonCode.MessageRateTooHigh : ReasonCode.QuotaExceeded;
    ch.disconnect('quota_exceeded', code, true, `${over} quota exceeded`);
  } else if (newEpisode) {
    quota.overSince = now;
    report(ch, over, 'grace');
  }
  return false;
}

function report(ch: Channel, quota: QuotaName, outcome: 'disconnected' | 'grace'): void {
  ch.ctx.observer.quotaExceeded({
    quota,
    clientId: ch.clientId,
    username: ch.username,
    address: ch.conn.remoteAddress,
    protocolVersion: ch.protocolVersion,
    outcome,
  });
}
