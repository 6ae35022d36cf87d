import type { NodeBus, StoredMessage } from '@mqtt-broker/core';
import { deepClone } from './clone.js';

/** In-process bus: share one instance between brokers to simulate a cluster in tests. */
export class MemoryNodeBus implements NodeBus {
  private readonly handlers = new Map<string, (message: StoredMessage) => void>();

  send(nodeId: string, message: StoredMessage): void {
    const copy = deepClone(message);
    queueMicrotask(() => this.handlers.get(nodeId)?.(copy));
  }

  async listen(nodeId: string, handler: (message: StoredMessage) => void): Promise<() => Promise<void>> {
    this.handlers.set(nodeId, handler);
    return async () => {
      if (this.handlers.get(nodeId) === handler) this.handlers.delete(nodeId);
    };
  }
}
