/**
 * PUBLISH at QoS -1 (6.8): sent by a client that has no connection, to a predefined topic id or
 * a short topic name. The gateway publishes them through one engine connection of its own
 * (client id `mqttsn-qos-1@<node id>`, so ACL rules can name it, and unique per node so the
 * nodes of a cluster do not take it over from each other). Refused by authentication, it is
 * tried again after REFUSED_RETRY_MS; meanwhile those publishes are dropped and counted.
 */
import type { Clock } from '@mqtt-broker/core';
import type { Packet } from '@mqtt-broker/mqtt-codec';
import { BridgeConnection, type ConnectionAcceptor, type EngineSide } from './bridge-connection.js';

const REFUSED_RETRY_MS = 10_000;

export class QosMinusOnePublisher implements EngineSide {
  readonly writable = true;
  private conn: BridgeConnection | undefined = undefined;
  private refusedAt: number | undefined = undefined;

  constructor(
    private readonly acceptor: ConnectionAcceptor,
    private readonly clock: Clock,
    readonly clientId: string,
    private readonly username: string | undefined,
  ) {}

  /** Returns false when the engine refused this publisher recently (the message is dropped). */
  publish(topic: string, payload: Buffer, retain: boolean): boolean {
    if (this.refusedAt !== undefined && this.clock.now() - this.refusedAt < REFUSED_RETRY_MS) return false;
    if (this.conn === undefined || this.conn.isClosed) this.open();
    this.conn!.send({ type: 3, dup: false, qos: 0, retain, topic, payload });
    return true;
  }

  fromEngine(packet: Packet, conn: BridgeConnection): void {
    if (conn === this.conn && packet.type === 2 && packet.reasonCode !== 0) this.refusedAt = this.clock.now();
  }

  engineClosed(conn: BridgeConnection): void {
    if (conn === this.conn) this.conn = undefined;
  }

  close(): void {
    const conn = this.conn;
    this.conn = undefined;
    conn?.send({ type: 14, reasonCode: 0 });
  }

  private open(): void {
    this.refusedAt = undefined;
    this.conn = new BridgeConnection('gateway', 0, this, this.acceptor);
    const username = this.username;
    this.conn.send({ type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: this.clientId, ...(username !== undefined ? { username } : {}) });
  }
}
