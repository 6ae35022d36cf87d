/**
 * UTF-8 Encoded String checks (MQTT 5.0 1.5.4, 3.1.1 1.5.3), both directions.
 *
 * Decoding: most MQTT strings (topics, client ids) are ASCII, so one byte loop rejects NUL and
 * notes whether any byte is >= 0x80; pure ASCII becomes a one-byte string through the latin1
 * decoder (cheapest string creation in V8). Anything else goes to `isUtf8` (simdutf, rejects
 * overlong forms and encoded surrogates), then the utf8 decoder.
 * Encoding: `isWellFormed` rejects lone surrogates, which would otherwise be written as U+FFFD.
 */
import { isUtf8 } from 'node:buffer';
import { malformed } from './errors.js';
import type { FastBuffer } from './fast-buffer.js';

export function decodeUtf8(buf: Buffer, start: number, end: number): string {
  let high = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    // [MQTT-1.5.4-2] no U+0000 (a zero byte is only ever U+0000 in valid UTF-8)
    if (c === 0) throw malformed('UTF-8 string contains U+0000', 'MQTT-1.5.4-2');
    high |= c;
  }
  if (high < 0x80) return (buf as FastBuffer).latin1Slice(start, end);
  // [MQTT-1.5.4-1] well-formed UTF-8, no encoded surrogates, no overlong forms
  if (!isUtf8(buf.subarray(start, end))) throw malformed('ill-formed UTF-8 string', 'MQTT-1.5.4-1');
  return (buf as FastBuffer).utf8Slice(start, end);
}

/** True when `s` may be written as an MQTT UTF-8 string: well formed, no U+0000. */
export function isValidMqttString(s: string): boolean {
  return (s as unknown as WellFormed).isWellFormed() && s.indexOf('\u0000') === -1;
}

/** ES2024 `String.prototype.isWellFormed` (Node 20 has it; the shared lib setting is ES2023). */
interface WellFormed {
  isWellFormed(): boolean;
}

/** True when a topic name contains a wildcard character [MQTT-4.7.1-1]. */
export function hasWildcard(topic: string): boolean {
  return topic.indexOf('+') !== -1 || topic.indexOf('#') !== -1;
}
