import type { NodeBus, StoredMessage } from '@mqtt-broker/core';
import { deepClone } from './clone.js';

interface Listener {
  handler: (message: StoredMessage) => void;
  held: (() => Promise<void> | undefined) | undefined;
  /** Sent, not yet handed over (in order); `holding` while `held` said wait. */
  queue: StoredMessage[];
  holding: boolean;
}

/** In-process bus: share one instance between brokers to simulate a cluster in tests. */
export class MemoryNodeBus implements NodeBus {
  private readonly listeners = new Map<string, Listener>();

  send(nodeId: string, message: StoredMessage): void {
    const copy = deepClone(message);
    queueMicrotask(() => {
      const l = this.listeners.get(nodeId);
      if (l === undefined) return;
      l.queue.push(copy);
      if (!l.holding) this.handOver(nodeId, l);
    });
  }

  async listen(nodeId: string, handler: (message: StoredMessage) => void, held?: () => Promise<void> | undefined): Promise<() => Promise<void>> {
    const listener: Listener = { handler, held, queue: [], holding: false };
    this.listeners.set(nodeId, listener);
    return async () => {
      if (this.listeners.get(nodeId) === listener) this.listeners.delete(nodeId);
    };
  }

  /** Hands the queue over until `held` returns a promise (the rest waits for it). */
  private handOver(nodeId: string, l: Listener): void {
    while (l.queue.length > 0 && this.listeners.get(nodeId) === l) {
      l.handler(l.queue.shift() as StoredMessage);
      const wait = l.held?.();
      if (wait === undefined) continue;
      l.holding = true;
      const resume = (): void => {
        l.holding = false;
        this.handOver(nodeId, l);
      };
      wait.then(resume, resume);
      return;
    }
  }
}
