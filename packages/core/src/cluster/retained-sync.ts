/**
 * Keeps this node's retained index current with retained messages set or cleared on other nodes
 * (ARCHITECTURE.md section 3, "Retained messages"): the RetainStore's change feed is applied to
 * the local index without writing back. Changes arriving before the initial load are held and
 * replayed after it, so the index converges to the store.
 */
import type { EngineContext } from '../engine-context.js';
import type { RetainChange, RetainStore, StoredMessage } from '../ports.js';

export interface RetainedSync {
  ready: Promise<void>;
  stop(): void;
}

/** `store.watch` must be defined (checked by the caller). */
export function startRetainedSync(ctx: EngineContext, store: RetainStore): RetainedSync {
  let held: RetainChange[] | undefined = [];
  const apply = (c: RetainChange): void => {
    if (c.nodeId === ctx.nodeId) return;
    if (c.op === 'set' && c.message !== undefined) ctx.retained.load([c.message], ctx.clock.now());
    else if (c.op === 'delete') ctx.retained.forget(c.topic);
  };
  const resync = (all: StoredMessage[]): void => {
    ctx.retained.replaceAll(all, ctx.clock.now());
  };
  const watch = store.watch?.bind(store);
  if (watch === undefined) throw new TypeError('the RetainStore has no change feed');
  const stop = watch((c) => {
    if (held !== undefined) held.push(c);
    else apply(c);
  }, resync);
  const ready = store.loadAll().then(
    (messages) => {
      ctx.retained.load(messages, ctx.clock.now());
      const pending = held ?? [];
      held = undefined;
      for (const c of pending) apply(c);
    },
    (e: unknown) => {
      held = undefined;
      ctx.reportPortError(e);
    },
  );
  return { ready, stop };
}
