export { ManualClock } from './manual-clock.js';
export { runPortConformance, type PortFactory } from './port-conformance.js';
export { FakeConnection, settle, TestClient } from './test-client.js';
