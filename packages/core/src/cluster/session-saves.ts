/**
 * Saves of persistent sessions for what a client is told only once its session is stored
 * (docs/cluster.md, "Durable QoS 1/2"): a SUBACK / UNSUBACK, so that a node killed right after it
 * cannot lose the subscription the client was told it has; a PUBREL, so that after a failover the
 * new node sends PUBREL again, never the PUBLISH [MQTT-4.3.3-5]; the state taken at CONNECT.
 *
 * A change is saved at the end of its turn together with every other change of that turn, and a
 * session has at most one save in flight: changes made while it is written are covered by one
 * more save, started once it landed. A client acknowledging 1,000 QoS 2 messages costs a few
 * snapshot writes, not 1,000 (a snapshot holds the whole queue: per-PUBREC saves were quadratic
 * and stalled a node past its heartbeat TTL).
 */
import type { EngineContext } from '../engine-context.js';
import type { SessionStore } from '../ports.js';
import type { Session } from '../session/session.js';

interface Pending {
  /** Settles when the save that covers the changes not yet written lands. */
  promise: Promise<void>;
  resolve: () => void;
}

interface SaveState {
  writing: boolean;
  /** Changes made after the save in flight (or in no save yet) started. */
  next: Pending | undefined;
}

function pending(): Pending {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export class SessionSaves {
  private readonly states = new Map<Session, SaveState>();
  /** Sessions whose next save starts at the end of this turn. */
  private readonly due = new Set<Session>();
  private flushing = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly store: SessionStore,
    /** Told of every save started (stats). */
    private readonly onSave: () => void,
  ) {}

  /**
   * `session` changed: the promise settles when a save that includes the change landed (or
   * failed, reported: the flow goes on, only a failover during the outage could repeat a message).
   */
  changed(session: Session): Promise<void> {
    let state = this.states.get(session);
    if (state === undefined) {
      state = { writing: false, next: undefined };
      this.states.set(session, state);
    }
    if (state.next === undefined) {
      state.next = pending();
      if (!state.writing) this.schedule(session);
    }
    return state.next.promise;
  }

  private schedule(session: Session): void {
    this.due.add(session);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      const sessions = [...this.due];
      this.due.clear();
      for (const s of sessions) this.write(s);
    });
  }

  private write(session: Session): void {
    const state = this.states.get(session);
    const done = state?.next;
    if (state === undefined || done === undefined) return;
    state.next = undefined;
    if (session.ended || this.ctx.sessions.get(session.clientId) !== session) {
      // gone or replaced: nothing of it is this node's to write any more
      this.states.delete(session);
      done.resolve();
      return;
    }
    state.writing = true;
    this.onSave();
    void this.store
      .save(session.snapshot())
      .catch((e: unknown) => this.ctx.reportPortError(e))
      .then(() => {
        state.writing = false;
        done.resolve();
        if (state.next !== undefined) this.schedule(session);
        else this.states.delete(session);
      });
  }
}
