/**
 * A feeder that is not a connection: something that hands messages to local sessions from
 * elsewhere (the durable inbox consumer, the node bus's receiver) and that a congested session
 * holds back like a publishing connection (session/flow-control.ts). It cannot stop reading a
 * socket, so it exposes the hold as a promise: its source waits for it before handing over more.
 */
import type { Feeder, FlowBlocker } from '../session/flow-control.js';

export class HeldFeeder implements Feeder {
  flowBlockers: Set<FlowBlocker> | undefined = undefined;
  flowBlockedAt = 0;
  flowExemptUntil = 0;
  private released: (() => void) | undefined = undefined;
  private held: Promise<void> | undefined = undefined;

  onFlowBlocked(): void {
    this.held = new Promise<void>((resolve) => {
      this.released = resolve;
    });
  }

  onFlowReleased(): void {
    const r = this.released;
    this.held = undefined;
    this.released = undefined;
    r?.();
  }

  /** Resolves when no local session holds this feeder back. */
  flowGate(): Promise<void> {
    return this.held ?? Promise.resolve();
  }

  /** While a local session holds this feeder back: resolves when none does. */
  flowHeld(): Promise<void> | undefined {
    return this.held;
  }
}
