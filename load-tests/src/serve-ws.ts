// The WebSocket listener of the benchmark's Aedes: the `ws` server (subprotocol mqtt when
// offered, no compression; ws turns Nagle off on every socket) with each connection handed on as
// a Duplex from createWebSocketStream. `websocket-stream`, which Aedes' docs used to name, was
// last published in 2020 (5.5.2) and wraps the same `ws`; this is its maintained equivalent.
// SIGTERM closes the listener and terminates every connection.

import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';

export async function serveWebSocket(port: number, host: string, onStream: (stream: Duplex) => void): Promise<void> {
  const server = new WebSocketServer({
    port,
    host,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : false),
  });
  server.on('connection', (ws) => onStream(createWebSocketStream(ws)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', resolve);
  });
  process.once('SIGTERM', () => {
    server.close();
    for (const ws of server.clients) ws.terminate();
  });
}
