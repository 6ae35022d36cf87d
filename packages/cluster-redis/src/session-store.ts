/** SessionStore on Redis: one string per session (the packed snapshot) plus an index set of ids. */
import type { SessionSnapshot, SessionStore } from '@mqtt-broker/core';
import type { Keys } from './keys.js';
import { pack, unpack } from './pack.js';
import type { RedisClient } from './redis-client.js';
import { type RedisTimer, timed } from './timing.js';

export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    /** Told how long each session command took. */
    private readonly timer?: RedisTimer,
  ) {}

  async load(clientId: string): Promise<SessionSnapshot | undefined> {
    const raw = await timed(this.timer, 'session', this.client.getBuffer(this.keys.session(clientId)));
    return raw === null ? undefined : (unpack(raw) as SessionSnapshot);
  }

  async save(snapshot: SessionSnapshot): Promise<void> {
    // two slots in Redis Cluster (session key, index): two commands, the session first
    await timed(this.timer, 'session', this.client.set(this.keys.session(snapshot.clientId), pack(snapshot)));
    await timed(this.timer, 'session', this.client.sadd(this.keys.sessionIndex, snapshot.clientId));
  }

  async delete(clientId: string): Promise<void> {
    await timed(this.timer, 'session', this.client.del(this.keys.session(clientId)));
    await timed(this.timer, 'session', this.client.srem(this.keys.sessionIndex, clientId));
  }

  async clientIds(): Promise<string[]> {
    return this.client.smembers(this.keys.sessionIndex);
  }
}
