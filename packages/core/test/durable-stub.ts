/**
 * Inert cluster ports for engine tests that drive one part of the cluster by hand: every
 * DurablePort operation does nothing (or throws "not used" where an answer would have to be
 * made up), and a route table / node bus with fixed routes. Tests spread `durablePortDefaults()`
 * and override what they script.
 */
import type { DurablePort, NodeBus, RouteTable } from '../src/index.js';

const notUsed = async (): Promise<never> => {
  throw new Error('not used');
};

export function durablePortDefaults(): DurablePort {
  return {
    appendTimeoutMs: 1000,
    cleanupWaitMs: 0,
    append: async () => {},
    available: () => true,
    consume: async () => async () => {},
    drain: notUsed,
    setWill: async () => {},
    deleteWill: async () => {},
    takeWills: async () => [],
    indexSession: async () => {},
    unindexSession: async () => {},
    indexedSessions: async () => [],
    adoptClient: notUsed,
    setHolder: async () => {},
    holder: async () => undefined,
    cleanupState: async () => 'cleaned',
    markAdopted: async () => {},
    cleanUpNow: async () => {},
    onNodeDead: () => {},
  };
}

/** A route table that always answers `routes` and ignores changes. */
export function fixedRoutes(routes: Array<{ filter: string; nodeId: string }> = []): RouteTable {
  return {
    addRoute: async () => {},
    removeRoute: async () => {},
    removeNode: async () => {},
    routes: async () => routes,
    watch: () => () => {},
  };
}

/** A node bus that hands every message sent to `onSend` and never receives. */
export function quietBus(onSend: NodeBus['send'] = () => {}): NodeBus {
  return { send: onSend, listen: async () => async () => {} };
}
