import type { BrokerPorts } from '@mqtt-broker/core';
import { MemoryClientRegistry } from './client-registry.js';
import { MemoryNodeBus } from './node-bus.js';
import { MemoryRetainStore } from './retain-store.js';
import { MemoryRouteTable } from './route-table.js';
import { MemorySessionStore } from './session-store.js';

export { MemoryClientRegistry } from './client-registry.js';
export { MemoryNodeBus } from './node-bus.js';
export { MemoryRetainStore } from './retain-store.js';
export { MemoryRouteTable } from './route-table.js';
export { MemorySessionStore } from './session-store.js';

/** Every port, in memory. Pass the same object to several brokers to share state between them. */
export function createMemoryPorts(): Required<BrokerPorts> {
  return {
    sessions: new MemorySessionStore(),
    retained: new MemoryRetainStore(),
    routes: new MemoryRouteTable(),
    bus: new MemoryNodeBus(),
    registry: new MemoryClientRegistry(),
  };
}
