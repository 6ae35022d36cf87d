import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketType, type QoS } from '@mqtt-broker/mqtt-codec';
import fc from 'fast-check';
import { settle, TestClient } from '../src/testing/index.js';
import { setup, sub } from './harness.js';

const topics = ['a', 'a/b', 'a/c', '$x/y'];
const filters = ['a', 'a/+', '#', 'a/#', '$share/g/a/+', '+/b', '$x/#'];

type Command =
  | { kind: 'publish'; client: number; topic: string; qos: QoS; retain: boolean }
  | { kind: 'subscribe'; client: number; filter: string; qos: QoS }
  | { kind: 'unsubscribe'; client: number; filter: string }
  | { kind: 'ack'; client: number; type: 4 | 5 | 6 | 7; id: number }
  | { kind: 'ackAll'; client: number }
  | { kind: 'reconnect'; client: number; clean: boolean }
  | { kind: 'writable'; client: number; writable: boolean };

const client = fc.integer({ min: 0, max: 2 });
const qos = fc.constantFrom<QoS>(0, 1, 2);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('publish' as const), client, topic: fc.constantFrom(...topics), qos, retain: fc.boolean() }),
  fc.record({ kind: fc.constant('subscribe' as const), client, filter: fc.constantFrom(...filters), qos }),
  fc.record({ kind: fc.constant('unsubscribe' as const), client, filter: fc.constantFrom(...filters) }),
  fc.record({ kind: fc.constant('ack' as const), client, type: fc.constantFrom<4 | 5 | 6 | 7>(4, 5, 6, 7), id: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('ackAll' as const), client }),
  fc.record({ kind: fc.constant('reconnect' as const), client, clean: fc.boolean() }),
  fc.record({ kind: fc.constant('writable' as const), client, writable: fc.boolean() }),
);

describe('robustness', () => {
  it('random bytes never throw out of onData and leave no connected client', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (bytes) => {
        const { broker } = setup();
        const c = new TestClient(broker, 4);
        c.sendRaw(Buffer.from(bytes));
        c.close();
        assert.equal(broker.stats().connectedClients, 0);
      }),
      { numRuns: 1000 },
    );
  });

  it('random client behaviour keeps the books straight; everything is released at the end', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 60 }), fc.constantFrom<4 | 5>(4, 5), async (commands, version) => {
        runs++;
        const { broker } = setup({ limits: { maxQueuedMessages: 5, maxInflight: 3 } });
        const clients: TestClient[] = [];
        const open = async (i: number, clean: boolean): Promise<void> => {
          const c = new TestClient(broker, version);
          await c.connect({ clientId: `c${i}`, clean, ...(version === 5 && !clean ? { properties: { sessionExpiryInterval: 100 } } : {}) });
          clients[i] = c;
        };
        for (let i = 0; i < 3; i++) await open(i, true);
        let id = 0;
        for (const cmd of commands) {
          const c = clients[cmd.client];
          switch (cmd.kind) {
            case 'publish':
              c.send({ type: PacketType.PUBLISH, dup: false, qos: cmd.qos, retain: cmd.retain, topic: cmd.topic, packetId: cmd.qos > 0 ? (id = (id % 100) + 1) : undefined, payload: Buffer.from('p') });
              if (cmd.qos === 2) c.send({ type: PacketType.PUBREL, packetId: id });
              break;
            case 'subscribe':
              c.send({ type: PacketType.SUBSCRIBE, packetId: 1, subscriptions: [sub(cmd.filter, cmd.qos)] });
              break;
            case 'unsubscribe':
              c.send({ type: PacketType.UNSUBSCRIBE, packetId: 1, topicFilters: [cmd.filter] });
              break;
            case 'ack':
              c.send({ type: cmd.type, packetId: cmd.id });
              break;
            case 'ackAll':
              for (const p of c.take()) {
                if (p.type === PacketType.PUBLISH && p.qos === 1) c.send({ type: PacketType.PUBACK, packetId: p.packetId! });
                if (p.type === PacketType.PUBLISH && p.qos === 2) c.send({ type: PacketType.PUBREC, packetId: p.packetId! });
                if (p.type === PacketType.PUBREL) c.send({ type: PacketType.PUBCOMP, packetId: p.packetId });
              }
              break;
            case 'reconnect':
              c.close(true);
              await open(cmd.client, cmd.clean);
              break;
            case 'writable':
              c.conn.writable = cmd.writable;
              if (cmd.writable) c.handler.onDrain();
              break;
          }
          const s = broker.stats();
          assert.ok(s.inflightMessages >= 0 && s.queuedMessages >= 0 && s.subscriptions >= 0, JSON.stringify(s));
          assert.ok(s.queuedMessages <= 5 * 3, 'queues bounded');
          assert.ok(s.inflightMessages <= 3 * 3, 'windows bounded');
          assert.equal(s.connectedClients, 3);
        }
        // close everything with clean sessions: nothing may be left behind
        for (let i = 0; i < 3; i++) {
          clients[i].close();
          await open(i, true);
          clients[i].send({ type: PacketType.DISCONNECT, reasonCode: 0 });
        }
        await settle();
        const s = broker.stats();
        assert.deepEqual(
          [s.connectedClients, s.sessionsOnline, s.sessionsOffline, s.subscriptions, s.sharedSubscriptions, s.inflightMessages, s.queuedMessages],
          [0, 0, 0, 0, 0, 0, 0],
        );
      }),
      { numRuns: 300 },
    );
    assert.equal(runs, 300);
  });
});
