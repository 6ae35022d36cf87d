import type { Server } from 'node:net';

/** Listen, rejecting with the system error (EADDRINUSE, ...) instead of emitting it. */
export async function bindServer(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}
