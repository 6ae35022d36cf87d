/**
 * QUOTA_USER_MESSAGES_PER_SECOND / QUOTA_USER_BYTES_PER_SECOND: buckets shared by every
 * connection of one user name on this node (not cluster-wide: each node has its own, so a user
 * connected to n nodes may send n times the quota). Kept while the user has a connection here.
 * Clients without a user name have no user quota.
 */
import type { BrokerLimits } from '../api.js';
import { bucketFor, type TokenBucket } from './token-bucket.js';

export interface UserBuckets {
  readonly messages: TokenBucket | undefined;
  readonly bytes: TokenBucket | undefined;
  /** Connections holding these buckets. */
  holders: number;
}

export class UserQuotas {
  private readonly users = new Map<string, UserBuckets>();

  constructor(private readonly limits: BrokerLimits) {}

  /** The buckets of `username`, created for its first connection; release them when it closes. */
  acquire(username: string, now: number): UserBuckets {
    let user = this.users.get(username);
    if (user === undefined) {
      const { quotaUserMessagesPerSecond, quotaUserBytesPerSecond, quotaBurstSeconds } = this.limits;
      user = {
        messages: bucketFor(quotaUserMessagesPerSecond, quotaBurstSeconds, now),
        bytes: bucketFor(quotaUserBytesPerSecond, quotaBurstSeconds, now),
        holders: 0,
      };
      this.users.set(username, user);
    }
    user.holders++;
    return user;
  }

  release(username: string): void {
    const user = this.users.get(username);
    if (user !== undefined && --user.holders === 0) this.users.delete(username);
  }
}

export function userQuotasConfigured(limits: BrokerLimits): boolean {
  return limits.quotaUserMessagesPerSecond > 0 || limits.quotaUserBytesPerSecond > 0;
}
