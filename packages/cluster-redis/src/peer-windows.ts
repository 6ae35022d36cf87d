/**
 * The sender's side of the per-peer consumption window (see node-bus.ts): bytes of batch frames
 * sent to each node and the part that node reported consumed.
 *
 * Three thresholds on the unconsumed bytes (sent, plus the batch being collected, minus consumed):
 * - past `holdAt` the node is "congested": the engine holds back the local publishers feeding it
 *   (NodeBus.congested, core router/peer-flow.ts) until the window falls to `resumeAt`, when the
 *   drain handler is called;
 * - past `maxUnconsumed` QoS 0 messages to it are dropped (the last resort, once a publisher's
 *   hold was released by the flow-control watchdog).
 *
 * Why a sync probe and not a timeout: Redis buffers what a slow (or stopped) subscriber has not
 * read and cuts the connection past its pub/sub output buffer limit (32 MiB hard, 8 MiB for 60 s).
 * A window reopened blindly after a silent period pushes another window into that buffer each
 * time: a subscriber stopped for 20 s got its link cut. Instead, after `syncAfterMs` over the
 * window without a credit, the sender sends a sync frame (mark = bytes sent so far) through the
 * same channel; the receiver answers it only once it has read everything before it, with its own
 * consumed count. So the ack proves the backlog up to the mark is gone (consumed, or lost with a
 * cut link or a restart) and never frees room a stopped node has not made. The ack also rebases
 * the credit counter (`base`): later cumulative credits are not counted twice.
 */

interface PeerWindow {
  /** Bytes of batch frames sent to the peer. */
  sent: number;
  /** Bytes known consumed by the peer (or lost on the way), never above `sent`. */
  consumed: number;
  /** consumed = base + the peer's cumulative credit. */
  base: number;
  /** The peer's last reported cumulative count (it restarts from 0 when the peer restarts). */
  lastCredit: number;
  /** When the last credit or sync ack arrived (or the window opened). */
  creditAt: number;
  /** When the last sync probe was sent (0: none outstanding). */
  syncAt: number;
  /** Reported congested, not yet drained. */
  held: boolean;
}

export interface PeerWindowsOptions {
  maxUnconsumed: number;
  /** Default maxUnconsumed / 2. */
  holdAt?: number;
  /** Default maxUnconsumed / 4. */
  resumeAt?: number;
  /** Default 2000 ms. */
  syncAfterMs?: number;
  now?: () => number;
}

export class PeerWindows {
  private readonly windows = new Map<string, PeerWindow>();
  private readonly maxUnconsumed: number;
  private readonly holdAt: number;
  private readonly resumeAt: number;
  private readonly syncAfterMs: number;
  private readonly now: () => number;
  /** Told when a congested peer drained to `resumeAt`. */
  onDrain: ((nodeId: string) => void) | undefined = undefined;

  constructor(options: PeerWindowsOptions) {
    this.maxUnconsumed = options.maxUnconsumed;
    this.holdAt = options.holdAt ?? Math.floor(options.maxUnconsumed / 2);
    this.resumeAt = options.resumeAt ?? Math.floor(options.maxUnconsumed / 4);
    this.syncAfterMs = options.syncAfterMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  private window(nodeId: string): PeerWindow {
    let w = this.windows.get(nodeId);
    if (w === undefined) {
      w = { sent: 0, consumed: 0, base: 0, lastCredit: 0, creditAt: this.now(), syncAt: 0, held: false };
      this.windows.set(nodeId, w);
    }
    return w;
  }

  /** Bytes sent to `nodeId` (plus `pending` not yet sent) that it has not consumed. */
  unconsumed(nodeId: string, pending = 0): number {
    const w = this.windows.get(nodeId);
    return w === undefined ? pending : w.sent + pending - w.consumed;
  }

  /** True past `holdAt` (then until the drain handler is called for it). */
  congested(nodeId: string, pending: number): boolean {
    const w = this.windows.get(nodeId);
    if (w?.held === true) return true;
    if (this.unconsumed(nodeId, pending) <= this.holdAt) return false;
    this.window(nodeId).held = true;
    return true;
  }

  /**
   * Whether a message of `size` more bytes may go to `nodeId` (`pending` being collected).
   * Returns 'sync' when it may not and a sync probe is due (the caller sends one: `syncMark`).
   */
  admits(nodeId: string, pending: number): boolean | 'sync' {
    if (this.unconsumed(nodeId, pending) <= this.maxUnconsumed) return true;
    const w = this.window(nodeId);
    const now = this.now();
    if (now - w.creditAt < this.syncAfterMs || (w.syncAt !== 0 && now - w.syncAt < this.syncAfterMs)) return false;
    w.syncAt = now;
    return 'sync';
  }

  /** The mark a sync probe carries: the bytes sent so far. */
  syncMark(nodeId: string): number {
    return this.window(nodeId).sent;
  }

  sent(nodeId: string, bytes: number): void {
    this.window(nodeId).sent += bytes;
  }

  /** The peer's cumulative consumed count for this sender. */
  credit(peer: string, bytes: number): void {
    const w = this.windows.get(peer);
    if (w === undefined) return;
    if (bytes < w.lastCredit) w.base = w.consumed; // the peer restarted: its count starts again from 0
    w.lastCredit = bytes;
    this.advance(peer, w, w.base + bytes);
  }

  /** The peer read everything up to `mark`; its count was then `count`. */
  syncAck(peer: string, mark: number, count: number): void {
    const w = this.windows.get(peer);
    if (w === undefined) return;
    w.base = mark - count;
    w.lastCredit = count;
    w.syncAt = 0;
    this.advance(peer, w, mark);
  }

  private advance(peer: string, w: PeerWindow, consumed: number): void {
    w.consumed = Math.max(w.consumed, Math.min(consumed, w.sent));
    w.creditAt = this.now();
    if (w.held && w.sent - w.consumed <= this.resumeAt) {
      w.held = false;
      this.onDrain?.(peer);
    }
  }
}
