
import { runPortConformance } from '@mqtt-broker/core/testing';
import { createRedisPorts } from '../src/index.js';
import { useRedisServer } from './redis-suite.js';

const redis = useRedisServer();
let n = 0;

runPortConformance('redis', async () => {
  // a fresh key prefix per test: fresh ports on one server
  const p = createRedisPorts({ url: redis.url, nodeId: 'n0', prefix: `t${++n}` });
  // connected before use: the client registry refuses at once (REDIS_UNAVAILABLE) while Redis is not ready
  await p.client.ping();
  return { ports: p.ports, close: () => p.close() };
});
