/**
 * One real redis-server for the tests of a file (or of a describe block): started in `before`,
 * stopped in `after`, once the ioredis clients made or tracked here are disconnected and the
 * cleanups registered with `beforeStop` have run.
 */
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { type RunningRedis, startRedis } from '../src/testing/index.js';

export interface RedisSuite {
  readonly url: string;
  readonly port: number;
  /** A new ioredis client (no request retry limit) that answered PING. */
  client(): Promise<Redis>;
  /** Disconnects `client` after the tests. */
  track<T extends Redis>(client: T): T;
  /** Runs `cleanup` after the tests, before the server stops. */
  beforeStop(cleanup: () => Promise<unknown> | undefined): void;
}

export function useRedisServer(): RedisSuite {
  let server: RunningRedis | undefined;
  const clients: Redis[] = [];
  const cleanups: Array<() => Promise<unknown> | undefined> = [];
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    for (const c of clients) c.disconnect();
    await server?.stop();
  });
  const running = (): RunningRedis => {
    if (server === undefined) throw new Error('redis-server not started (used outside the tests?)');
    return server;
  };
  return {
    get url() {
      return running().url;
    },
    get port() {
      return running().port;
    },
    async client() {
      const client = new Redis(running().url, { maxRetriesPerRequest: null });
      clients.push(client);
      await client.ping();
      return client;
    },
    track(client) {
      clients.push(client);
      return client;
    },
    beforeStop(cleanup) {
      cleanups.push(cleanup);
    },
  };
}
