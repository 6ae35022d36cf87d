/**
 * WS_ENGINE: which WebSocketEngine the WebSocket listeners run on. `auto` takes uWebSockets.js
 * where a build loads (uws-loader.ts) and `ws` otherwise, and `ws` for a node whose secure
 * WebSocket listener requires client certificates (uWS accepts any client certificate and does
 * not expose it) or whose WebSocket listeners read the PROXY protocol (ws-engine-uws.ts says why).
 */
import { loadUws } from './uws-loader.js';
import { createUwsEngine } from './ws-engine-uws.js';
import type { WebSocketEngine } from './ws-engine.js';
import { createWsEngine } from './ws-engine-ws.js';

export const WS_ENGINE_SETTINGS = ['auto', 'uws', 'ws'] as const;
export type WebSocketEngineSetting = (typeof WS_ENGINE_SETTINGS)[number];

export interface WebSocketEngineChoice {
  readonly engine: WebSocketEngine;
  /** Why this engine, for the start log, e.g. 'uWebSockets.js @btc-vision/uwebsockets.js@20.57.0 loaded'. */
  readonly reason: string;
}

/** WS_ENGINE=uws cannot be honoured here; the message says why. */
export class WebSocketEngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebSocketEngineError';
  }
}

export interface WebSocketEngineNeeds {
  /** A secure WebSocket listener that requires and verifies client certificates. */
  readonly clientCertificates: boolean;
  /** A WebSocket listener that expects a PROXY protocol header. */
  readonly proxyProtocol: boolean;
}

const CLIENT_CERTS = 'uWebSockets.js cannot verify client certificates (secure WebSocket with TLS_REQUIRE_CLIENT_CERT)';
const PROXY = 'uWebSockets.js cannot read the PROXY protocol as load balancers send it (PROXY_PROTOCOL on a WebSocket listener)';

export function chooseWebSocketEngine(setting: WebSocketEngineSetting, needs: WebSocketEngineNeeds): WebSocketEngineChoice {
  if (setting === 'ws') return { engine: createWsEngine(), reason: 'WS_ENGINE=ws' };
  const unsupported = needs.clientCertificates ? CLIENT_CERTS : needs.proxyProtocol ? PROXY : undefined;
  if (unsupported !== undefined) {
    if (setting === 'uws') throw new WebSocketEngineError(`WS_ENGINE=uws: ${unsupported}`);
    return { engine: createWsEngine(), reason: unsupported };
  }
  const { build, failures } = loadUws();
  if (build !== undefined) return { engine: createUwsEngine(build.module), reason: `uWebSockets.js ${build.name} loaded` };
  const why = `uWebSockets.js does not load: ${failures.join('; ')}`;
  if (setting === 'uws') throw new WebSocketEngineError(`WS_ENGINE=uws: ${why}`);
  return { engine: createWsEngine(), reason: why };
}
