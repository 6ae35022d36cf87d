// Clustered Aedes for `npm run bench:cluster`: Aedes 1.x with mqemitter-redis (messages between
// nodes over Redis pub/sub) and aedes-persistence-redis (subscriptions, retained, sessions in
// Redis), the setup Aedes documents for a cluster. TCP with Nagle off, anonymous. Prints
// "ready <port>" once listening; SIGTERM closes it.
//   node load-tests/dist/src/cluster-bench-aedes.js --port 1883 --redis-port 6379

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { Aedes, type AedesOptions } from 'aedes';
import { serveTcp } from './serve-tcp.js';

const require = createRequire(import.meta.url);
type Factory = (opts: Record<string, unknown>) => unknown;
const mqemitterRedis = require('mqemitter-redis') as Factory;
const persistenceRedis = require('aedes-persistence-redis') as Factory;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { port: { type: 'string' }, 'redis-port': { type: 'string' }, id: { type: 'string' } },
  });
  const port = Number(values.port ?? 1883);
  const redis = { host: '127.0.0.1', port: Number(values['redis-port'] ?? 6379) };
  const options = { id: values.id, mq: mqemitterRedis(redis), persistence: persistenceRedis(redis) } as unknown as AedesOptions;
  const broker = await Aedes.createBroker(options);
  await serveTcp(
    port,
    '127.0.0.1',
    (socket) => broker.handle(socket),
    // closes the emitter; the persistence's Redis connection would keep the process up until the
    // SIGKILL, and a --cpu-prof profile is written only by an exit
    () => broker.close(() => process.exit(0)),
  );
}

await main();
