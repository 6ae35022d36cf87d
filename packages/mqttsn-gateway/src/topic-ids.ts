/**
 * One client's topic id table (MQTT-SN 1.2, 6.5 and 6.10): normal topic ids, assigned by the
 * gateway when the client REGISTERs a name or subscribes to one without wildcards, or when the
 * gateway REGISTERs a name to deliver a message. Ids live as long as the client's connection.
 * Predefined ids and short names are resolved without the table.
 */
import { shortTopicName, TopicIdType } from '@mqtt-broker/mqttsn-codec';
import type { PredefinedTopics } from './predefined.js';

export class TopicIds {
  private readonly byName = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  private next = 1;

  constructor(
    private readonly predefined: PredefinedTopics,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** The topic a PUBLISH's (TopicIdType, TopicId) names; undefined when unknown. */
  resolve(topicIdType: number, topicId: number): string | undefined {
    if (topicIdType === TopicIdType.PREDEFINED) return this.predefined.byId.get(topicId);
    if (topicIdType === TopicIdType.SHORT) return shortTopicName(topicId);
    return this.byId.get(topicId);
  }

  idOf(name: string): number | undefined {
    return this.byName.get(name);
  }

  /** The id of `name`, assigned now when it has none; undefined when the table is full. */
  register(name: string): number | undefined {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    if (this.byId.size >= this.max) return undefined;
    while (this.byId.has(this.next) || this.next === 0 || this.next === 0xffff) this.next = (this.next + 1) & 0xffff;
    const id = this.next;
    this.next = (this.next + 1) & 0xffff;
    this.byName.set(name, id);
    this.byId.set(id, name);
    return id;
  }

  /** The client answered a gateway REGISTER with a refusal, or a PUBACK with 0x02: forget the id. */
  forget(topicId: number): void {
    const name = this.byId.get(topicId);
    if (name === undefined) return;
    this.byId.delete(topicId);
    this.byName.delete(name);
  }
}
