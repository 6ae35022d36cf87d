/**
 * Retransmission of gateway-initiated messages (MQTT-SN 1.2, 6.13): a PUBLISH at QoS 1/2, a
 * PUBREL and a REGISTER are sent again, PUBLISH with DUP set, every Tretry until acknowledged;
 * after Nretry retransmissions the client is taken as lost. While the client sleeps nothing is
 * sent (timers are not re-armed): `resumeAll` sends everything again when it wakes.
 */
import type { Clock, TimerHandle } from '@mqtt-broker/core';
import { type SnPacket, SnType } from '@mqtt-broker/mqttsn-codec';

interface Entry {
  packet: SnPacket;
  tries: number;
  timer: TimerHandle | undefined;
}

export interface RetransmitHost {
  readonly clock: Clock;
  readonly retryMs: number;
  readonly maxRetries: number;
  readonly asleep: boolean;
  resend(packet: SnPacket): void;
  giveUp(): void;
}

export class Retransmitter {
  private readonly pending = new Map<string, Entry>();

  constructor(private readonly host: RetransmitHost) {}

  get size(): number {
    return this.pending.size;
  }

  arm(key: string, packet: SnPacket): void {
    this.ack(key);
    const entry: Entry = { packet, tries: 0, timer: undefined };
    this.pending.set(key, entry);
    this.schedule(key, entry);
  }

  /** Returns true when something was waiting under `key`. */
  ack(key: string): boolean {
    const entry = this.pending.get(key);
    if (entry === undefined) return false;
    if (entry.timer !== undefined) this.host.clock.clearTimer(entry.timer);
    this.pending.delete(key);
    return true;
  }

  resumeAll(): void {
    for (const [key, entry] of this.pending) {
      this.host.resend(withDup(entry.packet));
      this.schedule(key, entry);
    }
  }

  clear(): void {
    for (const entry of this.pending.values()) if (entry.timer !== undefined) this.host.clock.clearTimer(entry.timer);
    this.pending.clear();
  }

  private schedule(key: string, entry: Entry): void {
    entry.timer = this.host.clock.setTimer(this.host.retryMs, () => {
      entry.timer = undefined;
      if (this.pending.get(key) !== entry || this.host.asleep) return;
      if (entry.tries >= this.host.maxRetries) {
        this.host.giveUp();
        return;
      }
      entry.tries++;
      this.host.resend(withDup(entry.packet));
      this.schedule(key, entry);
    });
  }
}

function withDup(packet: SnPacket): SnPacket {
  return packet.type === SnType.PUBLISH ? { ...packet, dup: true } : packet;
}
