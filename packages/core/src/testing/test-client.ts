/**
 * A fake transport for driving the engine packet by packet: `FakeConnection` implements
 * ClientConnection by collecting the frames the core writes, and `TestClient` serializes
 * client packets into `onData` and parses what comes back with the codec.
 */
import {
  type ConnackPacket,
  type ConnectPacket,
  type Packet,
  PacketParser,
  PacketType,
  type ProtocolVersion,
  serialize,
} from '@mqtt-broker/mqtt-codec';
import type { Broker, ClientConnection, ConnectionHandler, TransportKind } from '../api.js';

export class FakeConnection implements ClientConnection {
  readonly transport: TransportKind = 'tcp';
  readonly remoteAddress: string;
  readonly remotePort = 50000;
  certificateCommonName?: string;
  readonly frames: Buffer[] = [];
  /** What write() returns (false simulates a full socket buffer). */
  writable = true;
  ended = false;
  destroyed = false;
  paused = false;
  bufferedBytes = 0;
  onFrame: ((frame: Buffer) => void) | undefined = undefined;

  constructor(remoteAddress = '127.0.0.1') {
    this.remoteAddress = remoteAddress;
  }

  write(frame: Buffer): boolean {
    if (this.ended || this.destroyed) return false;
    this.frames.push(frame);
    this.bufferedBytes += frame.length;
    this.onFrame?.(frame);
    return this.writable;
  }

  end(): void {
    this.ended = true;
  }

  destroy(): void {
    this.destroyed = true;
  }

  pauseReading(): void {
    this.paused = true;
  }

  resumeReading(): void {
    this.paused = false;
  }
}

/** Lets queued microtasks and immediates run (async CONNECT handling). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class TestClient {
  readonly conn: FakeConnection;
  readonly handler: ConnectionHandler;
  readonly received: Packet[] = [];
  /** Frames from the server that this client's codec refused (e.g. a 5.0 CONNACK sent to a 3.1.1 client). */
  readonly parseErrors: unknown[] = [];
  private readonly parser: PacketParser;
  private cursor = 0;

  constructor(
    broker: Broker,
    readonly version: ProtocolVersion = 4,
    remoteAddress?: string,
  ) {
    this.conn = new FakeConnection(remoteAddress);
    this.parser = new PacketParser({ protocolVersion: version });
    this.conn.onFrame = (frame) => {
      try {
        this.parser.push(frame, (p) => this.received.push(p));
      } catch (error) {
        this.parseErrors.push(error);
      }
    };
    this.handler = broker.accept(this.conn);
  }

  get closed(): boolean {
    return this.conn.ended || this.conn.destroyed;
  }

  send(packet: Packet): void {
    this.sendRaw(serialize(packet, this.version));
  }

  sendRaw(bytes: Buffer): void {
    this.handler.onData(bytes);
  }

  /** Sends CONNECT (defaults: clean, keep alive 0, id 'c') and returns the CONNACK. */
  async connect(fields: Partial<ConnectPacket> = {}): Promise<ConnackPacket> {
    this.send({
      type: PacketType.CONNECT,
      protocolName: this.version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: this.version,
      clean: true,
      keepAlive: 0,
      clientId: 'c',
      ...fields,
    });
    await settle();
    return this.expect(PacketType.CONNACK);
  }

  /** Packets received since the last take(). */
  take(): Packet[] {
    const out = this.received.slice(this.cursor);
    this.cursor = this.received.length;
    return out;
  }

  /** The next unread packet, which must be of `type`. */
  expect<T extends Packet['type']>(type: T): Extract<Packet, { type: T }> {
    const packet = this.received[this.cursor];
    if (packet === undefined) throw new Error(`expected packet type ${type}, got nothing`);
    if (packet.type !== type) throw new Error(`expected packet type ${type}, got ${packet.type}: ${JSON.stringify(packet)}`);
    this.cursor++;
    return packet as Extract<Packet, { type: T }>;
  }

  /** No unread packets. */
  get idle(): boolean {
    return this.cursor === this.received.length;
  }

  close(hadError = false): void {
    this.handler.onClose(hadError);
  }
}
