/**
 * Publisher acknowledgements that wait for durable cross-node appends (docs/cluster.md,
 * "Durable QoS 1/2"). A PUBACK/PUBREC goes out only once every remote copy of the message is
 * stored in its node's inbox; local delivery is already done when the ack is considered.
 *
 * Acks of one connection stay in PUBLISH order [MQTT-4.6.0-2]: once one ack waits, the following
 * ones queue behind it, even those with nothing to wait for.
 *
 * When an append fails or does not complete within the port's `appendTimeoutMs`: a 5.0
 * publisher gets the ack with the append's reason code (0x80 Unspecified error when the storage
 * is unreachable, 0x97 Quota exceeded when the backlog is over its bound) and a QoS 2 packet id
 * is released, so a resend is a new message; a 3.1.1 publisher, which has no way to hear a
 * refusal, gets nothing: its ack is held until the bound and then its connection is closed, so
 * that it resends on its next connection. No publisher is ever acknowledged for a message that
 * was not stored.
 */
import { ReasonCode } from '@mqtt-broker/mqtt-codec';
import type { Channel } from '../channel/channel.js';
import { ackFrame } from '../channel/frames.js';
import type { Session } from '../session/session.js';
import { durabilityOf } from './durable.js';
import { DurableAppendError } from './durable-port.js';

/** An ack that waits for its appends, or for an earlier ack of the same connection. */
interface PendingAck {
  session: Session;
  type: 4 | 5;
  packetId: number;
  reasonCode: number;
  /** Undefined while its appends are not stored. */
  outcome: Outcome | undefined;
}

/**
 * The acks of one connection in PUBLISH order. The acks of one batch of appends (the PUBLISHes of
 * one read, stored by one XADD) form one group that settles once: a timer and two promises per
 * PUBLISH were most of the cost of a QoS 1 message on the publishing node.
 */
interface AckQueue {
  items: PendingAck[];
  head: number;
  /** The last group's appends, and its members: a new ack waiting for the same appends joins it. */
  lastWait: Promise<unknown> | undefined;
  lastGroup: PendingAck[];
  timeoutMs: number;
}

const queues = new WeakMap<Channel, AckQueue>();
/** 3.1.1 connections with an ack that can never be sent: nothing more is acknowledged on them. */
const stalled = new WeakSet<Channel>();

type Outcome = { ok: true } | { ok: false; reasonCode: number };

const OK: Outcome = { ok: true };

/** Sends the PUBACK (type 4) or PUBREC (type 5) of an accepted PUBLISH once it is safe to. */
export function sendPublishAck(ch: Channel, session: Session, type: 4 | 5, packetId: number, reasonCode: number): void {
  const d = durabilityOf(ch.ctx);
  const wait = d?.takeWait();
  if (stalled.has(ch)) return;
  let q = queues.get(ch);
  if (wait === undefined && q === undefined) {
    ch.write(ackFrame(type, packetId, reasonCode, ch.protocolVersion));
    return;
  }
  if (q === undefined) {
    q = { items: [], head: 0, lastWait: undefined, lastGroup: [], timeoutMs: d?.port.appendTimeoutMs ?? 5000 };
    queues.set(ch, q);
  }
  const waits = wait !== undefined && reasonCode < 0x80;
  const item: PendingAck = { session, type, packetId, reasonCode, outcome: waits ? undefined : OK };
  q.items.push(item);
  if (!waits) return; // behind acks that wait: sent when they are
  if (wait === q.lastWait) {
    q.lastGroup.push(item);
    return;
  }
  const group = [item];
  const queue = q;
  q.lastWait = wait;
  q.lastGroup = group;
  void bounded(wait, q.timeoutMs).then((outcome) => {
    for (const it of group) it.outcome = outcome;
    if (queue.lastGroup === group) queue.lastWait = undefined; // settled: a later ack waits afresh
    sendReady(ch, queue);
  });
}

/** Sends the acks at the head of the queue whose appends are settled; forgets the queue once empty. */
function sendReady(ch: Channel, q: AckQueue): void {
  const items = q.items;
  while (q.head < items.length) {
    const it = items[q.head];
    if (it.outcome === undefined) {
      if (q.head >= 1024) {
        items.splice(0, q.head);
        q.head = 0;
      }
      return;
    }
    q.head++;
    finish(ch, it.session, it.type, it.packetId, it.reasonCode, it.outcome, q.timeoutMs);
  }
  items.length = 0;
  q.head = 0;
  if (queues.get(ch) === q) queues.delete(ch);
}

function bounded(wait: Promise<unknown>, timeoutMs: number): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, reasonCode: ReasonCode.UnspecifiedError }), timeoutMs);
    wait.then(
      () => {
        clearTimeout(timer);
        resolve(OK);
      },
      (e: unknown) => {
        clearTimeout(timer);
        resolve({ ok: false, reasonCode: e instanceof DurableAppendError ? e.reasonCode : ReasonCode.UnspecifiedError });
      },
    );
  });
}

function finish(ch: Channel, session: Session, type: 4 | 5, packetId: number, reasonCode: number, result: Outcome, timeoutMs: number): void {
  if (ch.isClosed() || stalled.has(ch)) return;
  if (result.ok) {
    ch.write(ackFrame(type, packetId, reasonCode, ch.protocolVersion)); // [MQTT-4.3.2-4] [MQTT-4.3.3-8]
    return;
  }
  if (ch.protocolVersion === 5) {
    if (type === 5) session.deleteInboundQos2(packetId); // refused: a resend with this id is a new message
    ch.write(ackFrame(type, packetId, result.reasonCode, 5));
    return;
  }
  // 3.1.1: hold the ack until the bound, then close so that the client resends
  stalled.add(ch);
  setTimeout(() => {
    if (!ch.isClosed()) ch.disconnect('server_shutdown', ReasonCode.UnspecifiedError, false, 'message could not be stored');
  }, timeoutMs / 2).unref();
}
