/**
 * Per-file scaffolding: `useTarget` starts one broker for a describe block (before) and stops it
 * with every client (after); `oursOnly` marks a test whose expected behaviour is ours and not
 * Mosquitto's, so that E2E_TARGET=mosquitto skips it with the reason.
 */
import { after, before } from 'node:test';
import { closeAllClients } from './clients.js';
import { type RunningBroker, startTarget, type TargetOptions, targetKind } from './processes.js';

export function useTarget(options: TargetOptions = {}): () => RunningBroker {
  let broker: RunningBroker | undefined;
  before(async () => {
    broker = await startTarget(options);
  });
  after(async () => {
    closeAllClients();
    await broker?.stop();
  });
  return () => {
    if (!broker) throw new Error('broker not started');
    return broker;
  };
}

/** `{ skip }` option for tests that only hold for our broker (Mosquitto deliberately differs). */
export function oursOnly(why: string): { skip: string | false } {
  // E2E_FORCE_ALL=1 runs them anyway, to re-check that Mosquitto still differs.
  return { skip: targetKind() === 'mosquitto' && process.env.E2E_FORCE_ALL !== '1' ? `ours only: ${why}` : false };
}

export const isMosquitto = (): boolean => targetKind() === 'mosquitto';
