/**
 * Backpressure across nodes: when the NodeBus reports a node congested (too much sent to it is
 * still unconsumed), the local publisher whose message was just forwarded there is held back,
 * exactly as a congested local session holds back its feeders (session/flow-control.ts): its
 * socket stops being read, TCP slows the publisher. The bus's drain callback lets them go. One
 * blocker per congested node; the flow-control watchdog bounds every hold (2 s), after which
 * the bus's own bound (drop QoS 0 past the window) is the last resort.
 */
import type { EngineContext } from '../engine-context.js';
import type { NodeBus } from '../ports.js';
import { type Feeder, type FlowBlocker, noteCongested, releaseFeeders } from '../session/flow-control.js';

export class PeerFlow {
  private readonly blockers = new Map<string, FlowBlocker>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly bus: NodeBus,
  ) {
    bus.onDrain?.((nodeId) => this.drained(nodeId));
  }

  /** Call right after sending to `nodeId`: holds the active feeder back while the node is congested. */
  sent(nodeId: string): void {
    if (this.bus.congested?.(nodeId) !== true) return;
    let b = this.blockers.get(nodeId);
    if (b === undefined) this.blockers.set(nodeId, (b = { feeders: undefined as Set<Feeder> | undefined, ctx: this.ctx }));
    noteCongested(b);
  }

  private drained(nodeId: string): void {
    const b = this.blockers.get(nodeId);
    if (b !== undefined) releaseFeeders(b);
  }

  /** Lets every held feeder go (the link stops). */
  releaseAll(): void {
    for (const b of this.blockers.values()) releaseFeeders(b);
    this.blockers.clear();
  }
}
