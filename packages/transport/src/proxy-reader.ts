/**
 * Reads a PROXY protocol header off a freshly accepted socket, before any other protocol sees
 * a byte. Bytes that arrived after the header are pushed back with `socket.unshift` (the TLS
 * server wrapping the socket afterwards, or the core, reads them first). A malformed header,
 * or none within the timeout, closes the socket and is reported as a rejection.
 */
import type { Socket } from 'node:net';
import type { TransportKind } from './core-types.js';
import { ProxyProtocolError } from './errors.js';
import type { TransportEvents } from './events.js';
import { type ProxyHeader, parseProxyHeader } from './proxy-protocol.js';
import { normalizeAddress } from './socket-connection.js';

export const DEFAULT_PROXY_HEADER_TIMEOUT_MS = 5000;

/** Resolves with the header, or undefined when the socket was closed (malformed, timeout, gone). */
export async function readProxyHeader(
  socket: Socket,
  transport: TransportKind,
  timeoutMs: number,
  events: TransportEvents | undefined,
): Promise<ProxyHeader | undefined> {
  return await new Promise<ProxyHeader | undefined>((resolve) => {
    let received: Buffer = Buffer.alloc(0);
    const address = normalizeAddress(socket.remoteAddress);
    const finish = (header: ProxyHeader | undefined): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      resolve(header);
    };
    const reject = (reason: 'proxy_header_invalid' | 'proxy_header_timeout'): void => {
      events?.connectionRejected?.(transport, reason, address);
      socket.destroy();
      finish(undefined);
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let result: ReturnType<typeof parseProxyHeader>;
      try {
        result = parseProxyHeader(received);
      } catch (err) {
        if (err instanceof ProxyProtocolError) {
          reject('proxy_header_invalid');
          return;
        }
        throw err;
      }
      if (!result.done) return;
      socket.pause();
      if (result.consumed < received.length) socket.unshift(received.subarray(result.consumed));
      finish(result.header);
    };
    const onClose = (): void => finish(undefined);
    const onError = (err: Error): void => events?.socketError?.(transport, err);
    const timer = setTimeout(() => reject('proxy_header_timeout'), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', onError);
  });
}
