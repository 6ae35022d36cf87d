/**
 * Size and validity checks for what the serializer writes. Every function here throws
 * MqttProtocolError for a value the specification does not allow on the wire, so a broken
 * packet object is refused before anything is allocated.
 */
import { MqttProtocolError, malformed, protocolError } from './errors.js';
import { ReasonCode } from './reason-codes.js';
import { hasWildcard, isValidMqttString } from './utf8.js';

/** Encoded size of a UTF-8 string field (2-byte length + bytes); validates [MQTT-1.5.4-1/2]. */
export function stringSize(s: string, what: string): number {
  if (typeof s !== 'string') throw malformed(`${what} is not a string`);
  if (s.length === 0) return 2;
  const n = Buffer.byteLength(s, 'utf8');
  if (n > 65_535) throw malformed(`${what} longer than 65535 bytes`);
  if (!isValidMqttString(s)) throw malformed(`${what} is not a valid MQTT UTF-8 string`, 'MQTT-1.5.4-1');
  return 2 + n;
}

/** Encoded size of a Topic Name: a string without wildcards [MQTT-3.3.2-2]. */
export function topicSize(topic: string, allowEmpty: boolean, what: string): number {
  const size = stringSize(topic, what);
  if (hasWildcard(topic)) throw new MqttProtocolError(ReasonCode.TopicNameInvalid, `wildcard in ${what}`, 'MQTT-3.3.2-2');
  // [MQTT-4.7.3-1] at least one character (5.0: unless a Topic Alias stands in for it)
  if (size === 2 && !allowEmpty) throw protocolError(`empty ${what}`, 'MQTT-4.7.3-1');
  return size;
}

export function binarySize(b: Buffer, what: string): number {
  if (!Buffer.isBuffer(b)) throw malformed(`${what} is not a Buffer`);
  if (b.length > 65_535) throw malformed(`${what} longer than 65535 bytes`);
  return 2 + b.length;
}

export function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw malformed(`${what} out of range: ${v}`);
}

/** [MQTT-2.2.1-3] (5.0) / [MQTT-2.3.1-1] (3.1.1): 1..65535. */
export function checkPacketId(id: number | undefined): void {
  if (id === undefined || !Number.isInteger(id) || id < 1 || id > 65_535) {
    throw protocolError(`invalid packet identifier ${id}`, 'MQTT-2.2.1-3');
  }
}

export function checkQoS(qos: number, what: string): void {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw malformed(`${what} QoS ${qos}`, 'MQTT-3.3.1-4');
}

export function checkCode(table: Uint8Array, code: number, what: string, rule?: string): void {
  if (!Number.isInteger(code) || table[code] !== 1) throw protocolError(`invalid ${what} ${code}`, rule);
}

/** Largest Remaining Length (spec 2.1.4); a packet over it cannot be framed. */
export function checkRemaining(remaining: number): void {
  if (remaining > 268_435_455) throw new MqttProtocolError(ReasonCode.PacketTooLarge, 'packet too large to encode');
}
