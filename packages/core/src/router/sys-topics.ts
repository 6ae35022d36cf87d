/**
 * `$SYS/broker/...` statistics, published as retained messages every sysIntervalSeconds
 * (Mosquitto's topic names). Clients cannot publish to `$SYS` (their PUBLISH is refused with
 * 0x87 on 5.0 and dropped on 3.1.1), and `#` / `+` at the first level do not match `$SYS`
 * [MQTT-4.7.2-1].
 */
import type { BrokerStats } from '../api.js';
import type { EngineContext } from '../engine-context.js';
import { createMessage } from '../session/message.js';

export function publishSysTopics(ctx: EngineContext, stats: BrokerStats, startedAt: number): void {
  const now = ctx.clock.now();
  const c = ctx.counters;
  const values: Array<[string, string | number]> = [
    ['version', `mqtt-broker ${ctx.version}`],
    ['uptime', `${Math.floor((now - startedAt) / 1000)} seconds`],
    ['clients/connected', stats.connectedClients],
    ['clients/disconnected', stats.sessionsOffline],
    ['clients/total', stats.sessionsOnline + stats.sessionsOffline],
    ['clients/maximum', ctx.limits.maxConnections],
    ['connections/total', c.connectionsTotal],
    ['messages/received', c.messagesReceived],
    ['messages/sent', c.messagesSent],
    ['messages/inflight', stats.inflightMessages],
    ['messages/stored', stats.queuedMessages + stats.retainedMessages],
    ['publish/messages/received', c.publishReceived],
    ['publish/messages/sent', c.publishSent],
    ['bytes/received', c.bytesReceived],
    ['bytes/sent', c.bytesSent],
    ['subscriptions/count', stats.subscriptions + stats.sharedSubscriptions],
    ['retained messages/count', stats.retainedMessages],
    ['store/messages/count', stats.queuedMessages],
  ];
  for (const [name, value] of values) {
    const message = createMessage(`$SYS/broker/${name}`, Buffer.from(String(value)), 0, true, undefined, undefined, now);
    ctx.publishInternal(message);
  }
}
