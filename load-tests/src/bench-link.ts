// The byte stream under the generator's MQTT connections (BenchClient, the idle connections):
// - tcp: a raw socket read through net's `onread` into one buffer shared by every connection of
//   the process (no allocation, no stream machinery per read);
// - ws: a `ws` client WebSocket (subprotocol `mqtt`, path /mqtt, no compression) that writes each
//   `write()` as one binary message: a batch of 64 PUBLISH frames is one message, which MQTT over
//   WebSocket allows, as it allows a packet split across messages. Received messages go to the
//   same frame scanner as TCP reads, so either shape is handled.

import { connect as netConnect } from 'node:net';
import WebSocket from 'ws';

export type Transport = 'tcp' | 'ws';
export const TRANSPORTS: readonly Transport[] = ['tcp', 'ws'];
/** The path every broker's WebSocket listener is reached on in the benchmark. */
export const WS_PATH = '/mqtt';

export interface LinkTarget {
  transport: Transport;
  host: string;
  port: number;
  /** Source address to bind (spreads loopback connections over 127.x addresses). */
  localAddress?: string;
}

export interface LinkHandlers {
  /** Bytes received; the buffer may be reused after the call returns. */
  onData(buf: Buffer): void;
  /** The link failed or the peer closed it; called once. */
  onClose(reason: string): void;
}

export interface ByteLink {
  /** Writes bytes (queued until the link is open); false: wait for onceDrain before writing more. */
  write(buf: Buffer): boolean;
  onceDrain(listener: () => void): void;
  /** Stops reading (slow-subscribers: a client that stalls). */
  pauseReading(): void;
  /** Writes `last`, then closes; destroys it after 2 s if the peer does not close. */
  end(last: Buffer): void;
  destroy(): void;
}

const SHARED_READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
/** A WebSocket write above this many buffered bytes reports backpressure (net's default is 16 KiB). */
const WS_HIGH_WATER_MARK = 64 * 1024;

export function openLink(target: LinkTarget, handlers: LinkHandlers): ByteLink {
  return target.transport === 'ws' ? openWsLink(target, handlers) : openTcpLink(target, handlers);
}

function openTcpLink(t: LinkTarget, h: LinkHandlers): ByteLink {
  const socket = netConnect({
    host: t.host,
    port: t.port,
    noDelay: true,
    ...(t.localAddress !== undefined ? { localAddress: t.localAddress } : {}),
    onread: {
      buffer: SHARED_READ_BUFFER,
      callback: (nread: number, buf: Uint8Array): boolean => {
        h.onData((buf as Buffer).subarray(0, nread));
        return true;
      },
    },
  });
  socket.on('error', (err) => h.onClose(err.message));
  socket.on('close', () => h.onClose('connection closed by broker'));
  return {
    write: (buf) => socket.write(buf),
    onceDrain: (listener) => socket.once('drain', listener),
    pauseReading: () => socket.pause(),
    end: (last) => {
      socket.end(last);
      socket.setTimeout(2_000, () => socket.destroy());
    },
    destroy: () => socket.destroy(),
  };
}

function openWsLink(t: LinkTarget, h: LinkHandlers): ByteLink {
  const ws = new WebSocket(`ws://${t.host}:${t.port}${WS_PATH}`, ['mqtt'], {
    perMessageDeflate: false,
    skipUTF8Validation: true,
    ...(t.localAddress !== undefined ? { localAddress: t.localAddress } : {}),
  });
  // Writes before 'open' (the CONNECT) wait here: ws.send throws while connecting.
  let pending: Buffer[] | null = [];
  let drainListeners: Array<() => void> = [];
  const drained = (): void => {
    const ls = drainListeners;
    drainListeners = [];
    for (const l of ls) l();
  };
  ws.on('open', () => {
    const queued = pending ?? [];
    pending = null;
    for (const b of queued) ws.send(b);
  });
  ws.on('message', (data: Buffer) => h.onData(data));
  ws.on('error', (err) => h.onClose(err.message));
  ws.on('close', () => h.onClose('connection closed by broker'));
  return {
    write: (buf) => {
      if (pending !== null) {
        pending.push(buf);
        return true;
      }
      if (ws.readyState !== WebSocket.OPEN) return true; // closing: the close handler reports it
      // The callback runs once this message is handed to the kernel: the moment to write again.
      const full = ws.bufferedAmount + buf.length > WS_HIGH_WATER_MARK;
      ws.send(buf, full ? drained : undefined);
      return !full;
    },
    onceDrain: (listener) => {
      drainListeners.push(listener);
    },
    pauseReading: () => ws.pause(),
    end: (last) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(last);
      ws.close();
      setTimeout(() => ws.terminate(), 2_000).unref();
    },
    destroy: () => ws.terminate(),
  };
}
