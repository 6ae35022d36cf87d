/**
 * The inbound quotas of one connection: its own message and byte buckets (QUOTA_MESSAGES_PER_SECOND,
 * QUOTA_BYTES_PER_SECOND) and its user's shared ones (user-quotas.ts). A PUBLISH counts as one
 * message and as the bytes of its topic and payload. Tokens are taken only when every bucket has
 * enough, so a PUBLISH refused by one quota costs nothing from the others.
 */
import type { BrokerLimits, QuotaName } from '../api.js';
import { bucketFor, type TokenBucket } from './token-bucket.js';
import { type UserQuotas, userQuotasConfigured } from './user-quotas.js';

export class PublishQuota {
  /** When this client's current time over a quota began (3.1.1 grace); undefined before the first. */
  overSince: number | undefined = undefined;
  /** When its last PUBLISH was refused. */
  lastRefused = 0;
  private readonly messages: TokenBucket | undefined;
  private readonly bytes: TokenBucket | undefined;
  private readonly userMessages: TokenBucket | undefined;
  private readonly userBytes: TokenBucket | undefined;
  /** The user whose shared buckets this connection holds. */
  private readonly holdsUser: string | undefined;

  private constructor(
    limits: BrokerLimits,
    now: number,
    private readonly users: UserQuotas | undefined,
    username: string | undefined,
  ) {
    this.messages = bucketFor(limits.quotaMessagesPerSecond, limits.quotaBurstSeconds, now);
    this.bytes = bucketFor(limits.quotaBytesPerSecond, limits.quotaBurstSeconds, now);
    this.holdsUser = users !== undefined ? username : undefined;
    const user = this.holdsUser !== undefined ? users?.acquire(this.holdsUser, now) : undefined;
    this.userMessages = user?.messages;
    this.userBytes = user?.bytes;
  }

  /** The quotas of a connection of `username`, or undefined when no inbound quota is configured. */
  static create(limits: BrokerLimits, users: UserQuotas | undefined, username: string | undefined, now: number): PublishQuota | undefined {
    const own = limits.quotaMessagesPerSecond > 0 || limits.quotaBytesPerSecond > 0;
    if (!own && (username === undefined || !userQuotasConfigured(limits))) return undefined;
    return new PublishQuota(limits, now, users, username);
  }

  /** Undefined when a PUBLISH of `size` bytes fits (its tokens are then taken), else the quota it exceeds. */
  admit(size: number, now: number): QuotaName | undefined {
    const { messages, bytes, userMessages, userBytes } = this;
    messages?.refill(now);
    bytes?.refill(now);
    userMessages?.refill(now);
    userBytes?.refill(now);
    if (messages !== undefined && !messages.has(1)) return 'messages';
    if (bytes !== undefined && !bytes.has(size)) return 'bytes';
    if (userMessages !== undefined && !userMessages.has(1)) return 'user_messages';
    if (userBytes !== undefined && !userBytes.has(size)) return 'user_bytes';
    messages?.take(1);
    bytes?.take(size);
    userMessages?.take(1);
    userBytes?.take(size);
    return undefined;
  }

  /** The connection closed: its user's buckets are released. */
  release(): void {
    if (this.holdsUser !== undefined) this.users?.release(this.holdsUser);
  }
}
