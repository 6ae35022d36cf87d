/** A bare TCP adapter for interop tests (the real transport lives in packages/transport). */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Broker, ClientConnection } from '../src/index.js';

class SocketConnection implements ClientConnection {
  readonly transport = 'tcp' as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  constructor(private readonly socket: Socket) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
  }
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }
  write(frame: Buffer): boolean {
    return this.socket.write(frame);
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
  pauseReading(): void {
    this.socket.pause();
  }
  resumeReading(): void {
    this.socket.resume();
  }
}

export async function listen(broker: Broker): Promise<{ port: number; server: Server; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const handler = broker.accept(new SocketConnection(socket));
    socket.on('data', (chunk) => handler.onData(chunk));
    socket.on('drain', () => handler.onDrain());
    socket.on('error', () => {});
    socket.on('close', (hadError) => {
      sockets.delete(socket);
      handler.onClose(hadError);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
