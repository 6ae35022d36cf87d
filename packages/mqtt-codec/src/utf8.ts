/**
 * UTF-8 Encoded String checks (MQTT 5.0 1.5.4, 3.1.1 1.5.3), both directions.
 *
 * Decoding: most MQTT strings (topics, client ids) are ASCII, so a byte loop first looks for
 * anything >= 0x80 or NUL; pure ASCII becomes a one-byte string through the latin1 decoder
 * (cheapest string creation in V8). Anything else goes to `isUtf8` (simdutf, rejects overlong
 * forms and encoded surrogates) plus a NUL search, then the utf8 decoder.
 * Encoding: `isWellFormed` rejects lone surrogates, which would otherwise be written as U+FFFD.
 */
import { isUtf8 } from 'node:buffer';
import { malformed } from './errors.js';
import type { FastBuffer } from './fast-buffer.js';

export function decodeUtf8(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c === 0 || c > 0x7f) return decodeNonAscii(buf, start, end);
  }
  return (buf as FastBuffer).latin1Slice(start, end);
}

function decodeNonAscii(buf: Buffer, start: number, end: number): string {
  const nul = buf.indexOf(0, start);
  // [MQTT-1.5.4-2] no U+0000
  if (nul !== -1 && nul < end) throw malformed('UTF-8 string contains U+0000', 'MQTT-1.5.4-2');
  // [MQTT-1.5.4-1] well-formed UTF-8, no encoded surrogates
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
