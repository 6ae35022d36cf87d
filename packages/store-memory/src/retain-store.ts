import type { RetainStore, StoredMessage } from '@mqtt-broker/core';
import { deepClone } from './clone.js';

export class MemoryRetainStore implements RetainStore {
  private readonly messages = new Map<string, StoredMessage>();

  async set(topic: string, message: StoredMessage): Promise<void> {
    this.messages.set(topic, deepClone(message));
  }

  async delete(topic: string): Promise<void> {
    this.messages.delete(topic);
  }

  async get(topic: string): Promise<StoredMessage | undefined> {
    const m = this.messages.get(topic);
    return m === undefined ? undefined : deepClone(m);
  }

  async loadAll(): Promise<StoredMessage[]> {
    return [...this.messages.values()].map((m) => deepClone(m));
  }
}
