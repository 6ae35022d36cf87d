// A minimal Aedes 1.x broker for the benchmark: in-memory persistence and emitter (its
// defaults), anonymous access, TCP with Nagle off (as Mosquitto is configured with
// set_tcp_nodelay and as our broker does). Prints "ready <port>" once listening; SIGTERM closes
// the listener, the clients and the broker.
//   node load-tests/dist/src/aedes-server.js --port 1883 [--host 127.0.0.1]

import { Aedes } from 'aedes';
import { listenArgs, serveTcp } from './serve-tcp.js';

async function main(): Promise<void> {
  const { port, host } = listenArgs();
  const broker = await Aedes.createBroker();
  await serveTcp(
    port,
    host,
    (socket) => broker.handle(socket),
    () => broker.close(),
  );
}

await main();
