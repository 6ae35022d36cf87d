export { BridgeConnection, type ConnectionAcceptor } from './bridge-connection.js';
export { type ClientEntry, ClientList, type UserMapping } from './client-list.js';
export { type GatewayOptions, MqttSnGateway } from './gateway.js';
export { type GatewayObserver, type GatewayStats, noopGatewayObserver, type SnDropReason } from './observer.js';
export { NO_PREDEFINED_TOPICS, type PredefinedTopics, PredefinedTopicsError, parsePredefinedTopics } from './predefined.js';
