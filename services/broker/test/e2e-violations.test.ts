// End to end: protocol violations written as raw bytes (or as packets a conforming client would
// never send), each answered with the specified reason code and/or a closed connection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IConnackPacket, IDisconnectPacket, IPubcompPacket } from 'mqtt-packet';
import { uid } from './helpers/clients.js';
import { suiteSkipReason } from './helpers/processes.js';
import { RawClient, type Version } from './helpers/raw.js';
import { isMosquitto, oursOnly, useTarget } from './helpers/suite.js';

/** A CONNECT for `version` with client id "v" and keep alive 30, clean session. */
function connectBytes(version: Version, level: number = version): number[] {
  const name = version === 3 ? [0, 6, ...Buffer.from('MQIsdp')] : [0, 4, ...Buffer.from('MQTT')];
  const props = version === 5 ? [0] : [];
  const body = [...name, level, 0x02, 0, 30, ...props, 0, 1, 0x76];
  return [0x10, body.length, ...body];
}

describe('e2e protocol violations', { skip: suiteSkipReason() }, () => {
  const broker = useTarget({ env: { TOPIC_ALIAS_MAXIMUM: '5', CONNECT_TIMEOUT_SECONDS: '2' }, mosquittoListener: ['max_topic_alias 5'] });
  const port = () => broker().ports.mqtt;

  async function expectDisconnect(raw: RawClient, reasonCode: number | undefined, what: string): Promise<void> {
    assert.equal(await raw.closedWithin(3000), true, `${what}: connection closed`);
    if (reasonCode !== undefined && raw.version === 5) {
      const disconnect = raw.received.find((p) => p.cmd === 'disconnect') as IDisconnectPacket | undefined;
      assert.equal(disconnect?.reasonCode, reasonCode, `${what}: DISCONNECT 0x${reasonCode.toString(16)}; got ${JSON.stringify(raw.received)}`);
    }
  }

  it('first packet not CONNECT: closed without CONNACK [MQTT-3.1.0-1]', async () => {
    const raw = await RawClient.open(port(), 4);
    raw.write([0xc0, 0x00]); // PINGREQ
    assert.equal(await raw.closedWithin(3000), true);
    assert.equal(raw.received.length, 0);
  });

  for (const version of [4, 5] as const) {
    it(`v${version}: a second CONNECT is a protocol error [MQTT-3.1.0-2]`, async () => {
      const raw = await RawClient.connected(port(), version, { clientId: uid('c2') });
      raw.write(connectBytes(version));
      await expectDisconnect(raw, isMosquitto() ? undefined : 0x82, 'second CONNECT');
    });

    it(`v${version}: reserved fixed-header flags (SUBSCRIBE with flags 0) are malformed [MQTT-3.8.1-1]`, async () => {
      const raw = await RawClient.connected(port(), version, { clientId: uid('rf') });
      const props = version === 5 ? [0] : [];
      const body = [0, 1, ...props, 0, 1, 0x61, 0x01];
      raw.write([0x80, body.length, ...body]); // should be 0x82
      await expectDisconnect(raw, isMosquitto() ? undefined : 0x81, 'reserved flags');
    });

    it(`v${version}: PUBLISH with QoS 3 is malformed [MQTT-3.3.1-4]`, async () => {
      const raw = await RawClient.connected(port(), version, { clientId: uid('q3') });
      const props = version === 5 ? [0] : [];
      const body = [0, 1, 0x61, 0, 1, ...props, 0x78];
      raw.write([0x36, body.length, ...body]);
      await expectDisconnect(raw, isMosquitto() ? undefined : 0x81, 'QoS 3');
    });

    it(`v${version}: a remaining length of more than 4 bytes is malformed`, async () => {
      const raw = await RawClient.connected(port(), version, { clientId: uid('rl') });
      raw.write([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
      await expectDisconnect(raw, isMosquitto() ? undefined : 0x81, 'bad remaining length');
    });

    it(`v${version}: invalid UTF-8 in a topic name is malformed [MQTT-1.5.4-1]`, async () => {
      const raw = await RawClient.connected(port(), version, { clientId: uid('u8') });
      const props = version === 5 ? [0] : [];
      const body = [0, 2, 0xc3, 0x28, ...props, 0x78];
      raw.write([0x30, body.length, ...body]);
      await expectDisconnect(raw, isMosquitto() ? undefined : 0x81, 'invalid UTF-8');
    });

    it(`v${version}: a wildcard in a PUBLISH topic is a protocol error [MQTT-3.3.2-2]`, async () => {
      const raw = await RawClient.connected(port(), version, { clientId: uid('wc') });
      raw.send({ cmd: 'publish', topic: 'a/+/b', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
      await expectDisconnect(raw, isMosquitto() ? undefined : 0x90, 'wildcard in topic');
    });
  }

  it('v5: topic alias 0 is a protocol error, DISCONNECT 0x94 [MQTT-3.3.2-8]', async () => {
    const raw = await RawClient.connected(port(), 5, { clientId: uid('ta0') });
    // mqtt-packet refuses alias 0; PUBLISH "t", properties: 0x23 topic alias = 0.
    raw.write([0x30, 8, 0, 1, 0x74, 3, 0x23, 0, 0, 0x78]);
    // Mosquitto 2.0.11 answers 0x81 Malformed Packet; the spec's code is 0x94.
    await expectDisconnect(raw, isMosquitto() ? 0x81 : 0x94, 'topic alias 0');
  });

  it('v5: topic alias above the advertised maximum: DISCONNECT 0x94 [MQTT-3.3.2-10]', async () => {
    const raw = await RawClient.open(port(), 5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: uid('tam') });
    const connack = (await raw.next('connack')) as IConnackPacket;
    const max = connack.properties?.topicAliasMaximum ?? 0;
    assert.equal(max, 5, 'TOPIC_ALIAS_MAXIMUM advertised');
    raw.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: max + 1 } });
    await expectDisconnect(raw, 0x94, 'alias over maximum');
  });

  it('v5: an unknown topic alias with an empty topic is a protocol error 0x82', async () => {
    const raw = await RawClient.connected(port(), 5, { clientId: uid('tau') });
    raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    await expectDisconnect(raw, 0x82, 'unknown alias');
  });

  it('unsupported protocol level 9 in a 3.1.1-style CONNECT: CONNACK 1 (3.1.1 [MQTT-3.1.2-2]) or 0x84 (5.0), then close', async () => {
    const raw = await RawClient.open(port(), 4);
    raw.write(connectBytes(4, 9));
    assert.equal(await raw.closedWithin(3000), true);
    // Level 9 belongs to no version, so either specification's answer is acceptable.
    const bytes = Buffer.concat(raw.bytes);
    assert.equal(bytes[0], 0x20, `a CONNACK; got ${bytes.toString('hex')}`);
    assert.ok(bytes[3] === 0x01 || bytes[3] === 0x84, `code 1 or 0x84; got ${bytes.toString('hex')}`);
  });

  it('v3.1 (MQIsdp) name with level 4 is refused with return code 1, then close', async () => {
    const raw = await RawClient.open(port(), 4);
    const body = [0, 6, ...Buffer.from('MQIsdp'), 4, 0x02, 0, 30, 0, 1, 0x76];
    raw.write([0x10, body.length, ...body]);
    assert.equal(await raw.closedWithin(3000), true);
    const bytes = Buffer.concat(raw.bytes);
    assert.ok(bytes.length === 0 || (bytes[0] === 0x20 && bytes[3] === 0x01), `no CONNACK or CONNACK 1; got ${bytes.toString('hex')}`);
  });

  it('unsupported protocol level 6 with v5-style properties: CONNACK 0x84 (or 1), then close', async () => {
    const raw = await RawClient.open(port(), 5);
    raw.write(connectBytes(5, 6));
    assert.equal(await raw.closedWithin(3000), true);
    // Which CONNACK layout a server uses for an unknown level is its choice: check the raw bytes.
    const bytes = Buffer.concat(raw.bytes);
    assert.equal(bytes[0], 0x20, `a CONNACK; got ${bytes.toString('hex')}`);
    assert.ok(bytes[3] === 0x84 || bytes[3] === 0x01, `return/reason code 0x84 or 1; got ${bytes.toString('hex')}`);
  });

  it('v5: PUBREL for an unknown packet id gets PUBCOMP 0x92 [MQTT-3.7.2-1]', oursOnly('Mosquitto 2.0.11 answers PUBCOMP 0x00'), async () => {
    const raw = await RawClient.connected(port(), 5, { clientId: uid('prl') });
    raw.send({ cmd: 'pubrel', messageId: 4242, reasonCode: 0 });
    const pubcomp = (await raw.next('pubcomp')) as IPubcompPacket;
    assert.equal(pubcomp.messageId, 4242);
    assert.equal(pubcomp.reasonCode, 0x92, 'Packet Identifier not found');
    assert.equal(raw.isClosed, false);
    raw.destroy();
  });

  it('v3.1.1: PUBREL for an unknown packet id still gets a PUBCOMP', async () => {
    const raw = await RawClient.connected(port(), 4, { clientId: uid('prl4') });
    raw.send({ cmd: 'pubrel', messageId: 77 });
    assert.equal((await raw.next('pubcomp')).messageId, 77);
    raw.destroy();
  });

  it('v5: a client-sent DISCONNECT with malformed properties closes the connection', async () => {
    const raw = await RawClient.connected(port(), 5, { clientId: uid('dm') });
    raw.write([0xe0, 3, 0, 1, 0xff]); // property id 0xff does not exist
    assert.equal(await raw.closedWithin(3000), true);
  });

  it('a silent socket that never sends CONNECT is closed after CONNECT_TIMEOUT_SECONDS', oursOnly('Mosquitto has no connect timeout setting'), async () => {
    const raw = await RawClient.open(port(), 4);
    const started = Date.now();
    assert.equal(await raw.closedWithin(5000), true);
    assert.ok(Date.now() - started >= 1500, 'not before the timeout');
  });
});
