/**
 * The engine's side of one MQTT-SN client: a ClientConnection whose "socket" is the gateway.
 *
 * The engine writes MQTT 3.1.1 frames, one complete frame per write; each is parsed here and
 * handed to the EngineSide to translate into MQTT-SN. `write` returns the side's writability, so
 * a sleeping client's messages stay queued in its session (bounded by MAX_QUEUED_MESSAGES,
 * counted like any other queue) until the side calls `drain()`. end()/destroy() are reported to
 * the side first, then onClose follows on a microtask, as a socket's 'close' follows end().
 */
import type { ClientConnection, ConnectionHandler } from '@mqtt-broker/core';
import { type Packet, PacketParser, serialize } from '@mqtt-broker/mqtt-codec';

export interface EngineSide {
  /** False while the client cannot take messages (asleep, or a REGISTER backlog). */
  readonly writable: boolean;
  fromEngine(packet: Packet, conn: BridgeConnection): void;
  /** The engine closed this connection (kick, takeover, refused CONNECT, shutdown, our DISCONNECT). */
  engineClosed(conn: BridgeConnection): void;
}

export interface ConnectionAcceptor {
  accept(connection: ClientConnection): ConnectionHandler;
}

export class BridgeConnection implements ClientConnection {
  readonly transport = 'mqttsn' as const;
  readonly bufferedBytes = 0;
  /** Set while the engine holds this client's publishes back (publish rate, flow control). */
  readingPaused = false;
  private closed = false;
  private readonly handler: ConnectionHandler;
  private readonly parser = new PacketParser({ protocolVersion: 4 });
  private readonly onPacket: (packet: Packet) => void;

  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
    private readonly side: EngineSide,
    acceptor: ConnectionAcceptor,
  ) {
    this.onPacket = (packet) => side.fromEngine(packet, this);
    this.handler = acceptor.accept(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(frame: Buffer): boolean {
    if (this.closed) return true;
    this.parser.push(frame, this.onPacket);
    return this.side.writable;
  }

  end(): void {
    this.closeFromEngine();
  }

  destroy(): void {
    this.closeFromEngine();
  }

  pauseReading(): void {
    this.readingPaused = true;
  }

  resumeReading(): void {
    this.readingPaused = false;
  }

  /** Hands one packet to the engine, as if the client had sent it over TCP. */
  send(packet: Packet): void {
    if (!this.closed) this.handler.onData(serialize(packet, 4));
  }

  /** The side can take messages again: the engine sends what its session queued. */
  drain(): void {
    if (!this.closed) this.handler.onDrain();
  }

  replaceWill(will: Parameters<NonNullable<ConnectionHandler['replaceWill']>>[0]): void {
    if (!this.closed) this.handler.replaceWill?.(will);
  }

  /** The client is gone without a DISCONNECT (keep alive, retries exhausted): the engine publishes its will. */
  lose(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler.onClose(true);
  }

  private closeFromEngine(): void {
    if (this.closed) return;
    this.closed = true;
    this.side.engineClosed(this);
    queueMicrotask(() => this.handler.onClose(false));
  }
}
