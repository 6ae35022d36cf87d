// One MQTT connection of the load generator over a raw TCP socket or a WebSocket (bench-link.ts).
// It does the handshake (CONNECT/CONNACK, SUBSCRIBE/SUBACK), answers what the broker sends
// (PUBACK for a QoS 1 PUBLISH, batched per received chunk; PUBREL/PUBCOMP for QoS 2) and reports
// PUBLISH frames and PUBACKs to the scenario through callbacks. Writes are raw bytes: the scenario
// pre-encodes. Each received chunk (a TCP read into the shared buffer, or a WebSocket message) is
// scanned synchronously (a broker with Nagle off sends many small segments; per-read cost is what
// matters).

import { type ByteLink, openLink, type Transport } from './bench-link.js';
import { FrameScanner, publishPacketId } from './frame-scanner.js';
import {
  DISCONNECT,
  encodeConnect,
  encodePubcomp,
  encodePubrec,
  encodePubrel,
  encodeSubscribe,
  PacketType,
  type ProtocolVersion,
  writePuback,
} from './packets.js';

export interface BenchClientOptions {
  /** tcp (default) or ws: MQTT over WebSocket, binary messages, path /mqtt. */
  transport?: Transport;
  host: string;
  port: number;
  clientId: string;
  version: ProtocolVersion;
  keepaliveSeconds?: number;
  /** Source address to bind (idle: spread over 127.x addresses so ephemeral ports never run short). */
  localAddress?: string;
  /** 5.0: Receive Maximum advertised in CONNECT. */
  receiveMaximum?: number;
  /** Each PUBLISH received: header byte and body view buf[start, end). */
  onPublish?: (header: number, buf: Buffer, start: number, end: number) => void;
  /** Each PUBACK received (the client's own QoS 1 publishes). */
  onPuback?: (packetId: number) => void;
  /** Called once after all frames of one received chunk were handled. */
  onChunk?: () => void;
}

/** The connection closed or failed before the expected answer; `code` says which step. */
export class BenchClientError extends Error {
  readonly code: 'connect_timeout' | 'connack_refused' | 'closed' | 'suback_timeout' | 'suback_refused';
  readonly reasonCode: number;
  constructor(code: BenchClientError['code'], message: string, reasonCode = 0x80) {
    super(message);
    this.name = 'BenchClientError';
    this.code = code;
    this.reasonCode = reasonCode;
  }
}

type Waiter = { resolve: (v: number) => void; reject: (e: Error) => void };

export class BenchClient {
  readonly link: ByteLink;
  readonly options: BenchClientOptions;
  /** The server's Receive Maximum (5.0 CONNACK), 65535 when not given. */
  serverReceiveMaximum = 65_535;
  closed = false;
  /** Why the connection ended, when it was not our own close(). */
  closeReason: string | undefined;
  private readonly scanner: FrameScanner;
  private connackWaiter: Waiter | null = null;
  private readonly subackWaiters = new Map<number, Waiter>();
  private acks: number[] = [];
  private closing = false;
  private readonly closeListeners: Array<() => void> = [];

  private constructor(options: BenchClientOptions) {
    this.options = options;
    this.scanner = new FrameScanner((h, b, s, e) => this.onFrame(h, b, s, e));
    this.link = openLink(
      { transport: options.transport ?? 'tcp', host: options.host, port: options.port, localAddress: options.localAddress },
      { onData: (buf) => this.onRead(buf), onClose: (reason) => this.fail(reason) },
    );
  }

  /** Opens the connection and completes CONNECT/CONNACK within `timeoutMs`. */
  static async connect(options: BenchClientOptions, timeoutMs = 10_000): Promise<BenchClient> {
    const client = new BenchClient(options);
    const ack = new Promise<number>((resolve, reject) => {
      client.connackWaiter = { resolve, reject };
    });
    client.link.write(
      encodeConnect({
        clientId: options.clientId,
        version: options.version,
        keepaliveSeconds: options.keepaliveSeconds ?? 0,
        receiveMaximum: options.receiveMaximum,
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BenchClientError('connect_timeout', `no CONNACK within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const code = await Promise.race([ack, timeout]);
      if (code !== 0) throw new BenchClientError('connack_refused', `CONNACK refused: ${code}`, code);
      return client;
    } catch (err) {
      client.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SUBSCRIBE one filter; resolves with the granted QoS. */
  async subscribe(filter: string, qos: 0 | 1 | 2, packetId = 1, timeoutMs = 10_000): Promise<number> {
    const granted = new Promise<number>((resolve, reject) => {
      this.subackWaiters.set(packetId, { resolve, reject });
    });
    this.link.write(encodeSubscribe(packetId, filter, qos, this.options.version));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BenchClientError('suback_timeout', `no SUBACK within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const code = await Promise.race([granted, timeout]);
      if (code >= 0x80) throw new BenchClientError('suback_refused', `SUBACK refused: ${code}`, code);
      return code;
    } finally {
      clearTimeout(timer);
      this.subackWaiters.delete(packetId);
    }
  }

  /** false means the link's buffer is full (wait for onceDrain). */
  write(buf: Buffer): boolean {
    return this.link.write(buf);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** DISCONNECT, then close the link. */
  close(): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.link.end(DISCONNECT);
  }

  destroy(): void {
    this.closing = true;
    this.link.destroy();
  }

  private onRead(buf: Buffer): void {
    if (this.closed) return;
    try {
      this.scanner.push(buf);
    } catch (err) {
      this.fail(`malformed input: ${(err as Error).message}`);
      return;
    }
    if (this.acks.length > 0) this.flushAcks();
    this.options.onChunk?.();
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.closing) this.closeReason = reason;
    const err = new BenchClientError('closed', reason);
    this.connackWaiter?.reject(err);
    this.connackWaiter = null;
    for (const w of this.subackWaiters.values()) w.reject(err);
    this.subackWaiters.clear();
    this.link.destroy();
    for (const l of this.closeListeners) l();
  }

  private flushAcks(): void {
    const ids = this.acks;
    this.acks = [];
    const out = Buffer.allocUnsafe(ids.length * 4);
    for (let i = 0; i < ids.length; i++) writePuback(out, i * 4, ids[i]);
    this.link.write(out);
  }

  private onFrame(header: number, buf: Buffer, start: number, end: number): void {
    switch (header >> 4) {
      case PacketType.Publish: {
        this.options.onPublish?.(header, buf, start, end);
        const qos = (header >> 1) & 3;
        if (qos === 1) this.acks.push(publishPacketId(header, buf, start));
        else if (qos === 2) this.link.write(encodePubrec(publishPacketId(header, buf, start)));
        return;
      }
      case PacketType.Puback:
        this.options.onPuback?.((buf[start] << 8) | buf[start + 1]);
        return;
      case PacketType.Pubrec:
        this.link.write(encodePubrel((buf[start] << 8) | buf[start + 1]));
        return;
      case PacketType.Pubrel:
        this.link.write(encodePubcomp((buf[start] << 8) | buf[start + 1]));
        return;
      case PacketType.Connack:
        this.onConnack(buf, start, end);
        return;
      case PacketType.Suback: {
        const id = (buf[start] << 8) | buf[start + 1];
        let at = start + 2;
        if (this.options.version === 5) at += 1 + buf[at]; // short property lists only
        this.subackWaiters.get(id)?.resolve(buf[at]);
        return;
      }
      case PacketType.Disconnect: {
        const code = end > start ? buf[start] : 0;
        this.fail(`DISCONNECT from broker, reason 0x${code.toString(16)}`);
        return;
      }
      default:
        return; // PINGRESP, PUBCOMP: nothing to do
    }
  }

  private onConnack(buf: Buffer, start: number, end: number): void {
    const code = buf[start + 1];
    if (this.options.version === 5 && end > start + 2) {
      const max = findU16Property(buf, start + 2, end, 0x21);
      if (max !== undefined) this.serverReceiveMaximum = max;
    }
    this.connackWaiter?.resolve(code);
    this.connackWaiter = null;
  }
}

/** Sizes of 5.0 property values by id: 1, 2 or 4 bytes, 'v' varint, 's' length-prefixed, 'p' pair. */
type PropertyKind = 1 | 2 | 4 | 'v' | 's' | 'p';
const PROPERTY_KIND = new Map<number, PropertyKind>([
  [0x01, 1], [0x02, 4], [0x03, 's'], [0x08, 's'], [0x09, 's'], [0x0b, 'v'], [0x11, 4],
  [0x12, 's'], [0x13, 2], [0x15, 's'], [0x16, 's'], [0x17, 1], [0x18, 4], [0x19, 1], [0x1a, 's'],
  [0x1c, 's'], [0x1f, 's'], [0x21, 2], [0x22, 2], [0x23, 2], [0x24, 1], [0x25, 1], [0x26, 'p'],
  [0x27, 4], [0x28, 1], [0x29, 1], [0x2a, 1],
]);

function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    const b = buf[at++];
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) break;
    mul *= 128;
  }
  return [value, at];
}

/** The value of a two-byte property `id` in a 5.0 property list starting at `at`. */
export function findU16Property(buf: Buffer, at: number, end: number, id: number): number | undefined {
  const [len, first] = readVarint(buf, at);
  const stop = Math.min(end, first + len);
  let p = first;
  while (p < stop) {
    const [pid, next] = readVarint(buf, p);
    p = next;
    const kind = PROPERTY_KIND.get(pid);
    if (kind === undefined) return undefined;
    if (pid === id && kind === 2) return buf.readUInt16BE(p);
    if (kind === 'v') p = readVarint(buf, p)[1];
    else if (kind === 's') p += 2 + buf.readUInt16BE(p);
    else if (kind === 'p') {
      p += 2 + buf.readUInt16BE(p);
      p += 2 + buf.readUInt16BE(p);
    } else p += kind;
  }
  return undefined;
}
