/**
 * Publisher backpressure: a connected session whose queue passes a high-water mark holds back
 * the connections that feed it, instead of letting them fill its queue until QoS 1 is dropped.
 *
 * How: while a channel handles an inbound PUBLISH it is the "active feeder" (a module variable:
 * routing is synchronous). A session that enqueues past `flowHigh` records the active feeder in
 * its `feeders` set and the feeder records the session in `flowBlockers`; the feeder's first
 * blocker makes it pause reading its socket and hold the packets already parsed from the current
 * chunk (acknowledgements still go through). When the session's queue drains to `flowLow`, or
 * its connection goes away, it releases its feeders; a feeder with no blocker left replays what
 * it held and resumes reading. TCP does the rest: the publisher's socket fills and it slows down.
 *
 * Why the watchdog: two clients that each publish to the other's topics can hold each other
 * back forever (neither reads the other's PUBACKs). A feeder held longer than `FLOW_MAX_HOLD_MS`
 * is released and exempt from blocking for as long again, so the queue limit (and its overflow
 * policy) applies in that window: bounded memory always wins over lossless delivery.
 * One timer per broker, armed only while some feeder is held; nothing per connection.
 *
 * Why stall detection: a subscriber that stops reading altogether (a frozen device, a socket
 * nobody reads) never drains, and holding its publishers for FLOW_MAX_HOLD_MS at a time would
 * starve every healthy subscriber they also feed (seen: a healthy subscriber beside two stalled
 * ones got nothing for whole seconds). Backpressure is for subscribers that drain slowly; one that
 * has queued messages but sent none for `FLOW_STALL_MS` is stalled: it releases its feeders and
 * holds nobody until it sends again, and its queue limit applies (QoS 0 overflow is dropped and
 * counted, as Mosquitto does; QoS 1/2 follow the overflow policy). With QoS 1/2 messages queued
 * the bound is `FLOW_STALL_ASSURED_MS`: losing them costs more than holding the publishers.
 *
 * A blocker is anything with a `feeders` set: a session, or the link to another node whose
 * consumption window is full (router/peer-flow.ts), so cross-node forwarding slows the local
 * publishers the same way.
 */
import type { TimerHandle } from '../clock.js';
import type { EngineContext } from '../engine-context.js';
import type { Session } from './session.js';

/** Longest time a feeder stays held back before the watchdog releases it. */
export const FLOW_MAX_HOLD_MS = 2000;

/** A blocker that has sent nothing from its queue for this long is stalled and holds nobody. */
export const FLOW_STALL_MS = 250;

/**
 * The same while QoS 1/2 messages are queued: once stalled, those overflow the queue limit and
 * are lost, and a healthy client's pause (its GC, a CPU-starved pod, a burst of acknowledgements
 * in its event loop) often passes 250 ms (seen: two MQTT.js subscribers sharing a busy process
 * with their publishers were declared stalled and 33,793 acknowledged QoS 1 messages overflowed).
 * A stalled QoS 1 subscriber then holds its publishers once for this long, not 250 ms.
 */
export const FLOW_STALL_ASSURED_MS = FLOW_MAX_HOLD_MS;

/** A connection that publishes into sessions (implemented by the channel). */
export interface Feeder {
  /** The sessions (or node links) currently holding this feeder back; undefined when none. */
  flowBlockers: Set<FlowBlocker> | undefined;
  flowBlockedAt: number;
  /** Until this time (clock ms) the feeder is not held back again. */
  flowExemptUntil: number;
  /** Stop reading; hold further packets. */
  onFlowBlocked(): void;
  /** Replay held packets; resume reading. */
  onFlowReleased(): void;
}

/** Something that holds feeders back: a congested session, or a congested link to another node. */
export interface FlowBlocker {
  /** The feeders it holds back; undefined when none. */
  feeders: Set<Feeder> | undefined;
  readonly ctx: EngineContext;
  /** True when it has work queued but has made no progress for FLOW_STALL_MS (clock ms `now`). */
  isStalled?(now: number): boolean;
}

interface Watchdog {
  held: Set<Feeder>;
  timer: TimerHandle | undefined;
}

let active: Feeder | undefined;
const watchdogs = new WeakMap<EngineContext, Watchdog>();

/** The queue length at which a connected session holds its feeders back. */
export function flowHigh(ctx: EngineContext): number {
  return Math.max(1, Math.min(1000, Math.floor(ctx.limits.maxQueuedMessages / 2)));
}

/** The queue length at which it lets them go again. */
export function flowLow(ctx: EngineContext): number {
  return flowHigh(ctx) >> 1;
}

/** Marks `feeder` as the source of the messages routed until `endFeed()`. */
export function beginFeed(feeder: Feeder): void {
  active = feeder;
}

export function endFeed(): void {
  active = undefined;
}

/**
 * A connected session's queue is at or above the high-water mark (or a node link's window is
 * full): hold the active feeder back.
 */
export function noteCongested(session: FlowBlocker): void {
  const f = active;
  if (f === undefined) return;
  const ctx = session.ctx;
  const blockers = f.flowBlockers;
  if (blockers?.has(session) === true) return;
  const now = ctx.clock.now();
  if (f.flowExemptUntil > now || session.isStalled?.(now) === true) return;
  (session.feeders ??= new Set()).add(f);
  if (blockers !== undefined) {
    blockers.add(session);
    return;
  }
  f.flowBlockers = new Set([session]);
  f.flowBlockedAt = now;
  watch(ctx, f);
  f.onFlowBlocked();
}

/** Lets every feeder held back by `session` go (its queue drained, or it went offline). */
export function releaseFeeders(session: FlowBlocker): void {
  const feeders = session.feeders;
  if (feeders === undefined) return;
  session.feeders = undefined;
  for (const f of feeders) {
    const blockers = f.flowBlockers;
    if (blockers === undefined) continue;
    blockers.delete(session);
    if (blockers.size === 0) release(session.ctx, f);
  }
}

// Sessions whose queue drained below the low mark in this turn; their feeders are released in
// one microtask. Deferred because the release replays the feeders' held PUBLISHes (hundreds,
// ~1 µs each) and the PUBLISHes the session just sent are still corked in the transport until
// the end of the tick: released synchronously, the subscriber's next window waited for the whole
// replay and the subscriber sat idle (strict ping-pong). Microtasks run after process.nextTick.
let releaseSoon: Session[] | undefined;

/** Like `releaseFeeders`, after the writes of the current tick have left. */
export function releaseFeedersSoon(session: Session): void {
  if (releaseSoon !== undefined) {
    if (!releaseSoon.includes(session)) releaseSoon.push(session);
    return;
  }
  releaseSoon = [session];
  queueMicrotask(runReleases);
}

function runReleases(): void {
  const sessions = releaseSoon ?? [];
  releaseSoon = undefined;
  for (const s of sessions) {
    if (s.feeders !== undefined && (s.outlet === undefined || s.queue.length <= flowLow(s.ctx))) releaseFeeders(s);
  }
}

/**
 * Lets `f` go now and does not hold it back again for FLOW_MAX_HOLD_MS: the watchdog's way out
 * of a hold that lasted too long, and the way out for a connection whose transport cannot hold
 * more of its input (uWebSockets.js cannot stop reading). The congested sessions' queue limits
 * apply meanwhile.
 */
export function exemptFeeder(ctx: EngineContext, f: Feeder): void {
  for (const s of f.flowBlockers ?? []) s.feeders?.delete(f);
  f.flowExemptUntil = ctx.clock.now() + FLOW_MAX_HOLD_MS;
  release(ctx, f);
}

function release(ctx: EngineContext, f: Feeder): void {
  f.flowBlockers = undefined;
  const w = watchdogs.get(ctx);
  if (w !== undefined) {
    w.held.delete(f);
    if (w.held.size === 0 && w.timer !== undefined) {
      ctx.clock.clearTimer(w.timer);
      w.timer = undefined;
    }
  }
  f.onFlowReleased();
}

function watch(ctx: EngineContext, f: Feeder): void {
  let w = watchdogs.get(ctx);
  if (w === undefined) {
    w = { held: new Set(), timer: undefined };
    watchdogs.set(ctx, w);
  }
  w.held.add(f);
  if (w.timer === undefined) arm(ctx, w);
}

function arm(ctx: EngineContext, w: Watchdog): void {
  w.timer = ctx.clock.setTimer(FLOW_STALL_MS / 2, () => {
    w.timer = undefined;
    const now = ctx.clock.now();
    for (const f of [...w.held]) {
      const blockers = f.flowBlockers ?? new Set<FlowBlocker>();
      for (const s of blockers) {
        if (s.isStalled?.(now) !== true) continue;
        s.feeders?.delete(f);
        blockers.delete(s);
      }
      if (blockers.size === 0) {
        release(ctx, f);
        continue;
      }
      if (now - f.flowBlockedAt >= FLOW_MAX_HOLD_MS) exemptFeeder(ctx, f);
    }
    if (w.held.size > 0 && w.timer === undefined) arm(ctx, w);
  });
}
