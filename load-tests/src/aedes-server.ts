// A minimal Aedes 1.x broker for the benchmark: in-memory persistence and emitter (its
// defaults), anonymous access, TCP with Nagle off (as Mosquitto is configured with
// set_tcp_nodelay and as our broker does). Prints "ready <port>" once listening; SIGTERM closes
// the listener, the clients and the broker.
//   node load-tests/dist/src/aedes-server.js --port 1883 [--host 127.0.0.1]

import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { port: { type: 'string' }, host: { type: 'string' } },
  });
  const port = Number(values.port ?? 1883);
  const host = values.host ?? '127.0.0.1';
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, resolve);
  });
  process.stdout.write(`ready ${port}\n`);
  process.once('SIGTERM', () => {
    server.close();
    for (const s of sockets) s.destroy();
    broker.close();
  });
}

await main();
