/**
 * A UDP socket for the MQTT-SN gateway: datagrams in (`onDatagram`), datagrams out (`send`).
 * It is a Listener like the others (bound port, close) so the service starts, reports and stops
 * it the same way; `connections` is what the caller counts (the gateway's clients). Send errors
 * (an unreachable host, a full buffer) are reported and the datagram is lost, as UDP loses it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { ListenError } from './errors.js';
import type { TransportEvents } from './events.js';
import type { Listener } from './listener.js';
import { PollBatch } from './poll-batch.js';

export interface UdpListenOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  onDatagram(datagram: Buffer, address: string, port: number): void;
  /** Allow sending to broadcast addresses (ADVERTISE). */
  broadcast?: boolean;
  /** Counted as the listener's connections. */
  connections?: () => number;
  events?: TransportEvents;
}

export interface UdpListener extends Listener {
  send(datagram: Buffer, address: string, port: number): void;
}

export async function listenUdp(options: UdpListenOptions): Promise<UdpListener> {
  const host = options.host ?? '0.0.0.0';
  const socket: Socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
  const events = options.events;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(new ListenError('mqttsn', host, options.port, err.code ?? 'ERROR', err));
    socket.once('error', onError);
    socket.bind(options.port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  if (options.broadcast === true) socket.setBroadcast(true);
  socket.on('error', (err) => events?.socketError?.('mqttsn', err));
  // The datagrams of one poll of the socket are handled together (poll-batch.ts).
  const batch = new PollBatch<[Buffer, string, number]>(([datagram, address, port]) => options.onDatagram(datagram, address, port));
  socket.on('message', (datagram, rinfo) => batch.add([datagram, rinfo.address, rinfo.port]));
  const port = socket.address().port;
  let closed: Promise<void> | undefined;
  return {
    transport: 'mqttsn',
    host,
    port,
    get connections() {
      return options.connections?.() ?? 0;
    },
    stopAccepting() {
      // Clients stay until the engine's drain ends their sessions; new CONNECTs are refused by it.
    },
    send(datagram, address, toPort) {
      if (closed !== undefined) return;
      socket.send(datagram, toPort, address, (err) => {
        if (err) events?.socketError?.('mqttsn', err);
      });
    },
    close() {
      closed ??= new Promise<void>((resolve) => socket.close(() => resolve()));
      return closed;
    },
  };
}
