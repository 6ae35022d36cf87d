export * from './api.js';
export { createBroker, createBrokerReady, type EngineOptions } from './broker.js';
export { type Clock, systemClock, type TimerHandle } from './clock.js';
export { DEFAULT_LIMITS } from './limits.js';
export { noopObserver } from './observer.js';
export * from './ports.js';
export * from './admin.js';
export { DurableAppendError, type CleanupState, type DurableBatchHandler, type DurableMessage, type DurablePort, type MovedClient, type NodeCleanup, type SharedTarget, type StoredWill } from './cluster/durable-port.js';
