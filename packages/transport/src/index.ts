export type { ClientConnection, ConnectionAcceptor, ConnectionHandler, TransportKind } from './core-types.js';
export { ListenError, ProxyProtocolError, formatHostPort } from './errors.js';
export type { TransportEvents, TransportRejectReason } from './events.js';
export type { Listener, ListenOptions, ProxyProtocolOptions, TlsSettings } from './listener.js';
export { DEFAULT_BACKLOG } from './listener.js';
export { encodeProxyV1, parseProxyHeader, type ProxyHeader, type ProxyParseResult } from './proxy-protocol.js';
export { normalizeAddress, SocketConnection, type SocketConnectionOptions, serveSocket } from './socket-connection.js';
export { listenTcp, listenTls, type TcpListenOptions, type TlsListenOptions } from './tcp-listener.js';
export { DEFAULT_WS_HIGH_WATER_MARK, serveWebSocket, WebSocketConnection } from './ws-connection.js';
export { loadUws, type UwsBuild, type UwsLoadResult } from './uws-loader.js';
export type { WebSocketEngine, WebSocketEngineName, WebSocketPeer, WebSocketPeerEvents, WebSocketPeerInfo, WebSocketServerHandle, WebSocketServerOptions } from './ws-engine.js';
export {
  chooseWebSocketEngine,
  type WebSocketEngineChoice,
  WebSocketEngineError,
  type WebSocketEngineNeeds,
  type WebSocketEngineSetting,
  WS_ENGINE_SETTINGS,
} from './ws-engine-select.js';
export { createUwsEngine, MIN_HELD_WHILE_PAUSED } from './ws-engine-uws.js';
export { createWsEngine } from './ws-engine-ws.js';
export { listenWebSocket, MQTT_WS_SUBPROTOCOLS, selectMqttSubprotocol, type WebSocketListenOptions } from './ws-listener.js';
export { listenUdp, type UdpListener, type UdpListenOptions } from './udp-listener.js';
