/** SessionStore on Redis: one string per session (the packed snapshot) plus an index set of ids. */
import type { SessionSnapshot, SessionStore } from '@mqtt-broker/core';
import type { Keys } from './keys.js';
import { pack, unpack } from './pack.js';
import type { RedisClient } from './redis-client.js';

export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
  ) {}

  async load(clientId: string): Promise<SessionSnapshot | undefined> {
    const raw = await this.client.getBuffer(this.keys.session(clientId));
    return raw === null ? undefined : (unpack(raw) as SessionSnapshot);
  }

  async save(snapshot: SessionSnapshot): Promise<void> {
    // two slots in Redis Cluster (session key, index): two commands, the session first
    await this.client.set(this.keys.session(snapshot.clientId), pack(snapshot));
    await this.client.sadd(this.keys.sessionIndex, snapshot.clientId);
  }

  async delete(clientId: string): Promise<void> {
    await this.client.del(this.keys.session(clientId));
    await this.client.srem(this.keys.sessionIndex, clientId);
  }

  async clientIds(): Promise<string[]> {
    return this.client.smembers(this.keys.sessionIndex);
  }
}
