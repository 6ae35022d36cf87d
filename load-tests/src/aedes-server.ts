// A minimal Aedes 1.x broker for the benchmark: in-memory persistence and emitter (its
// defaults), anonymous access, TCP with Nagle off (as Mosquitto is configured with
// set_tcp_nodelay and as our broker does), and with --ws-port MQTT over WebSocket too
// (serve-ws.ts). Prints "ready <port>" once listening; SIGTERM closes the listeners, the clients
// and the broker.
//   node load-tests/dist/src/aedes-server.js --port 1883 [--host 127.0.0.1] [--ws-port 8083]

import { Aedes } from 'aedes';
import { listenArgs, serveTcp } from './serve-tcp.js';
import { serveWebSocket } from './serve-ws.js';

async function main(): Promise<void> {
  const { port, host, wsPort } = listenArgs();
  const broker = await Aedes.createBroker();
  if (wsPort !== undefined) await serveWebSocket(wsPort, host, (stream) => broker.handle(stream));
  await serveTcp(
    port,
    host,
    (socket) => broker.handle(socket),
    () => broker.close(),
  );
}

await main();
