/**
 * Per-client publish rate limit (limits.publishRatePerClient PUBLISH packets per second).
 * Backpressure, not loss: when a one-second window's budget is used up, reading is paused and
 * packets already parsed from the current chunk are held, in order, until the window ends; then
 * they are processed (counting against the new window) and reading resumes once none is held.
 */
import type { Packet } from '@mqtt-broker/mqtt-codec';
import type { TimerHandle } from '../clock.js';
import type { Channel } from './channel.js';

export class PublishRate {
  /** Packets parsed while over the rate; undefined while under it. */
  held: Packet[] | undefined = undefined;
  private windowStart = 0;
  private counted = 0;
  private timer: TimerHandle | undefined = undefined;

  constructor(private readonly ch: Channel) {}

  /** Counts one PUBLISH (called while handling it). */
  count(): void {
    const ctx = this.ch.ctx;
    const limit = ctx.limits.publishRatePerClient;
    if (limit <= 0) return;
    const now = ctx.clock.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.counted = 0;
    }
    if (++this.counted < limit) return;
    ctx.observer.limitHit('publish_rate');
    this.held ??= [];
    this.ch.conn.pauseReading();
    if (this.timer === undefined) this.timer = ctx.clock.setTimer(this.windowStart + 1000 - now, this.release);
  }

  stop(): void {
    if (this.timer !== undefined) this.ch.ctx.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.held = undefined;
  }

  private readonly release = (): void => {
    this.timer = undefined;
    const ch = this.ch;
    if (ch.isClosed()) return;
    const held = this.held ?? [];
    this.held = undefined;
    this.windowStart = ch.ctx.clock.now();
    this.counted = 0;
    for (let i = 0; i < held.length; i++) {
      if (ch.isClosed()) return;
      ch.dispatchConnected(held[i]);
      if (this.held !== undefined) {
        this.held = held.slice(i + 1).concat(this.held);
        return;
      }
    }
    ch.conn.resumeReading();
  };
}
