/**
 * The state shared by every channel, session and the router of one broker instance. Internal:
 * not exported from the package.
 */
import type { Authenticator, Authorizer, BrokerLimits, BrokerObserver } from './api.js';
import type { Clock } from './clock.js';
import type { BrokerPorts } from './ports.js';
import type { ConnectRate } from './quota/connect-rate.js';
import type { UserQuotas } from './quota/user-quotas.js';
import type { RetainedMessages } from './router/retained-store.js';
import type { Router } from './router/router.js';
import type { Message } from './session/message.js';
import type { Session } from './session/session.js';

export interface EngineCounters {
  connected: number;
  connectionsTotal: number;
  inflight: number;
  queued: number;
  bytesReceived: number;
  bytesSent: number;
  messagesReceived: number;
  messagesSent: number;
  publishReceived: number;
  publishSent: number;
}

export interface EngineContext {
  readonly nodeId: string;
  readonly version: string;
  readonly limits: BrokerLimits;
  readonly observer: BrokerObserver;
  readonly clock: Clock;
  readonly ports: BrokerPorts;
  authenticator: Authenticator | undefined;
  authorizer: Authorizer | undefined;
  readonly counters: EngineCounters;
  readonly router: Router;
  readonly retained: RetainedMessages;
  readonly sessions: Map<string, Session>;
  /** Only when a per-user quota is configured. */
  readonly userQuotas: UserQuotas | undefined;
  /** Only when CONNECT_RATE_PER_ADDRESS is configured. */
  readonly connectRate: ConnectRate | undefined;
  /** True once drain() or close() started: new CONNECTs are refused. */
  draining: boolean;
  /** Publishes a message from the broker itself (wills, $SYS): retained handling + routing. */
  publishInternal(message: Message): number;
  /** Ends a session: publishes a pending will, drops subscriptions and state [MQTT-3.1.2-23]. */
  endSession(session: Session): void;
  /** The connection of a persistent session closed: arm expiry, persist. */
  sessionOffline(session: Session): void;
  reportPortError(error: unknown): void;
}
