import type { ConnectionAcceptor, TransportKind } from './core-types.js';
import type { Listener, ListenOptions, ProxyProtocolOptions, TlsSettings } from './listener.js';
import { DEFAULT_WS_HIGH_WATER_MARK, serveWebSocket } from './ws-connection.js';
import type { WebSocketEngine } from './ws-engine.js';
import { createWsEngine } from './ws-engine-ws.js';

/** Subprotocols we speak, in order of preference: 'mqtt' (3.1.1 and 5.0), 'mqttv3.1' (3.1). */
export const MQTT_WS_SUBPROTOCOLS: readonly string[] = ['mqtt', 'mqttv3.1'];

/** `proxyProtocol` needs an engine that can read it (`WebSocketEngine.proxyProtocol`). */
export interface WebSocketListenOptions extends ListenOptions, ProxyProtocolOptions {
  acceptor: ConnectionAcceptor;
  /** Upgrade path; default '/mqtt'. */
  path?: string;
  /** Present: secure WebSocket (wss). */
  tls?: TlsSettings;
  /** Largest WebSocket message accepted (bytes); default 16 MiB. */
  maxMessageBytes?: number;
  /** Bytes buffered per connection above which `write` returns false; default 64 KiB. */
  highWaterMark?: number;
  /** WebSocket implementation; default the `ws` package. */
  engine?: WebSocketEngine;
}

/**
 * [MQTT-6.0.0-3] [MQTT-6.0.0-4] The client offers 'mqtt' and the server answers with it; the
 * 3.1 name 'mqttv3.1' is accepted for old clients. Anything else is refused.
 */
export function selectMqttSubprotocol(offered: readonly string[]): string | undefined {
  return MQTT_WS_SUBPROTOCOLS.find((p) => offered.includes(p));
}

export async function listenWebSocket(options: WebSocketListenOptions): Promise<Listener> {
  const transport: Extract<TransportKind, 'ws' | 'wss'> = options.tls === undefined ? 'ws' : 'wss';
  const host = options.host ?? '0.0.0.0';
  const engine = options.engine ?? createWsEngine();
  const highWaterMark = options.highWaterMark ?? DEFAULT_WS_HIGH_WATER_MARK;
  if (options.proxyProtocol === true && !engine.proxyProtocol) throw new Error(`the ${engine.name} WebSocket engine cannot read the PROXY protocol`);
  const handle = await engine.listen(
    {
      transport,
      host,
      port: options.port,
      path: options.path ?? '/mqtt',
      selectProtocol: selectMqttSubprotocol,
      maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      ...(options.events !== undefined ? { events: options.events } : {}),
      ...(options.proxyProtocol === true ? { proxyProtocol: true, proxyHeaderTimeoutMs: options.proxyHeaderTimeoutMs } : {}),
    },
    (peer, info) => serveWebSocket(peer, info, options.acceptor, transport, highWaterMark, options.events),
  );
  return {
    transport,
    host,
    port: handle.port,
    get connections() {
      return handle.connections;
    },
    stopAccepting: () => handle.stopAccepting(),
    close: () => handle.close(),
    ...(options.tls !== undefined && handle.reloadTls !== undefined ? { reloadTls: (tls: TlsSettings) => handle.reloadTls?.(tls) } : {}),
  };
}
