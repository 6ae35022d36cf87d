// The listener of the benchmark's helper brokers (Aedes, clustered Aedes, the echo broker): TCP
// with Nagle off (as Mosquitto is configured with set_tcp_nodelay and as our broker does), every
// open socket tracked, "ready <port>" printed once listening (the parent waits for that line), and
// on SIGTERM the listener closed, every socket destroyed and `onStop` run.

import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

/** `--port` (default 1883), `--host` (default 127.0.0.1) and `--ws-port` (none) from the command line. */
export function listenArgs(): { port: number; host: string; wsPort: number | undefined } {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { port: { type: 'string' }, host: { type: 'string' }, 'ws-port': { type: 'string' } },
  });
  const wsPort = values['ws-port'];
  return { port: Number(values.port ?? 1883), host: values.host ?? '127.0.0.1', wsPort: wsPort === undefined ? undefined : Number(wsPort) };
}

export async function serveTcp(port: number, host: string, onSocket: (socket: Socket) => void, onStop: () => void = () => {}): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, resolve);
  });
  process.stdout.write(`ready ${port}\n`);
  process.once('SIGTERM', () => {
    server.close();
    for (const s of sockets) s.destroy();
    onStop();
  });
}
