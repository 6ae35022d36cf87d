/**
 * WS_ENGINE values the WebSocket interop tests run our broker with: one test body, both engines.
 * `uws` is skipped, with the loader's reasons, where no uWebSockets.js build loads in this Node.js
 * (the broker child runs the same Node.js as the tests); against Mosquitto the engine means
 * nothing, so only one variant runs.
 */
import { loadUws, type WebSocketEngineName } from '@mqtt-broker/transport';
import { targetKind } from './processes.js';

export interface EngineVariant {
  readonly engine: WebSocketEngineName;
  readonly skip: string | false;
}

const uws = loadUws();

export const WS_ENGINE_VARIANTS: readonly EngineVariant[] = [
  { engine: 'ws', skip: false },
  {
    engine: 'uws',
    skip:
      targetKind() === 'mosquitto'
        ? 'Mosquitto has no WS_ENGINE'
        : uws.build === undefined
          ? `no uWebSockets.js build loads here: ${uws.failures.join('; ')}`
          : false,
  },
];

/** The engine WS_ENGINE=auto picks in this process (no client certificates). */
export const AUTO_ENGINE: WebSocketEngineName = uws.build !== undefined ? 'uws' : 'ws';
