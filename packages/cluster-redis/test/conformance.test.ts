import { after, before } from 'node:test';
import { runPortConformance } from '@mqtt-broker/core/testing';
import { createRedisPorts } from '../src/index.js';
import { type RunningRedis, startRedis } from '../src/testing/index.js';

let redis: RunningRedis;
let n = 0;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

runPortConformance('redis', async () => {
  // a fresh key prefix per test: fresh ports on one server
  const p = createRedisPorts({ url: redis.url, nodeId: 'n0', prefix: `t${++n}` });
  // connected before use: the client registry refuses at once (REDIS_UNAVAILABLE) while Redis is not ready
  await p.client.ping();
  return { ports: p.ports, close: () => p.close() };
});
