/**
 * Retained messages [MQTT-3.3.1-5..7]: one per topic, replaced by a newer retained PUBLISH,
 * deleted by a retained PUBLISH with an empty payload. Expired messages are never sent and are
 * removed when found [MQTT-3.3.2-5]. Writes go through to the RetainStore port when one is
 * configured; lookups are always served from the local index.
 */
import { RetainedIndex } from '@mqtt-broker/topics';
import type { RetainStore, StoredMessage } from '../ports.js';
import { ensureOwned, fromStored, isExpired, type Message, toStored } from '../session/message.js';

export class RetainedMessages {
  private readonly index = new RetainedIndex<Message>();
  private readonly expired: string[] = [];

  constructor(
    private readonly port: RetainStore | undefined,
    private readonly onPortError: (error: unknown) => void,
  ) {}

  get size(): number {
    return this.index.size;
  }

  /** Stores or (empty payload) deletes. */
  apply(message: Message): void {
    if (message.payload.length === 0) {
      this.delete(message.topic);
      return;
    }
    ensureOwned(message);
    this.index.set(message.topic, message);
    // $SYS statistics are this node's own: never written to the shared store
    if (this.port !== undefined && !message.topic.startsWith('$SYS/')) this.port.set(message.topic, toStored(message)).catch(this.onPortError);
  }

  delete(topic: string): void {
    if (this.index.delete(topic)) this.port?.delete(topic).catch(this.onPortError);
  }

  /** Deletes without writing through (a change made by another node). */
  forget(topic: string): void {
    this.index.delete(topic);
  }

  /** Replaces every retained message without writing through (a full resync from the port). */
  replaceAll(messages: Iterable<StoredMessage>, now: number): void {
    const local: Message[] = [];
    this.index.match('$SYS/#', (_topic, m) => local.push(m));
    this.index.clear();
    for (const m of local) this.index.set(m.topic, m);
    this.load(messages, now);
  }

  /** Sets without writing through (loading from the port). */
  load(messages: Iterable<StoredMessage>, now: number): void {
    for (const s of messages) this.index.set(s.topic, fromStored(s, now));
  }

  /** Visits the live retained messages matching a filter; expired ones are removed. */
  match(filter: string, now: number, visit: (message: Message) => void): void {
    const expired = this.expired;
    this.index.match(filter, (topic, message) => {
      if (isExpired(message, now)) expired.push(topic);
      else visit(message);
    });
    if (expired.length > 0) {
      for (const topic of expired) this.delete(topic);
      expired.length = 0;
    }
  }

  get(topic: string): Message | undefined {
    return this.index.get(topic);
  }
}
