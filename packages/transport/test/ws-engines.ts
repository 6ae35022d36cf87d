/**
 * The WebSocket engines the transport tests run against: one test body, two engines. The uws
 * engine is skipped, with the loader's reasons, where no uWebSockets.js build loads (Node 24 on
 * this machine's glibc 2.36, for example).
 */
import { createUwsEngine, createWsEngine, loadUws, type WebSocketEngine, type WebSocketEngineName } from '../src/index.js';

export interface EngineUnderTest {
  readonly name: WebSocketEngineName;
  create(): WebSocketEngine;
  /** false, or why this engine cannot run here. */
  readonly skip: string | false;
}

const uws = loadUws();

export const WEBSOCKET_ENGINES: readonly EngineUnderTest[] = [
  { name: 'ws', create: createWsEngine, skip: false },
  {
    name: 'uws',
    create: () => {
      if (uws.build === undefined) throw new Error('uWebSockets.js did not load');
      return createUwsEngine(uws.build.module);
    },
    skip: uws.build === undefined ? `no uWebSockets.js build loads here: ${uws.failures.join('; ')}` : false,
  },
];
