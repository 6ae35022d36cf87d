/**
 * Stream lag of a node's durable inbox (stream-bus.ts): entries appended to it and not yet
 * secured by the node. Delivered entries are acknowledged AND deleted there, so the stream's
 * length is exactly the unread plus the read-but-unacknowledged entries: one XLEN (O(1)) instead
 * of XINFO GROUPS lag + XPENDING. An entry is one event-loop turn's batch from one sender (up to
 * 100 messages), so this counts batches, not messages.
 */
import type { Keys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { type RedisTimer, timed } from './timing.js';

export async function inboxLag(client: RedisClient, keys: Keys, nodeId: string, timer?: RedisTimer): Promise<number> {
  return timed(timer, 'stream', client.xlen(keys.inbox(nodeId)));
}
