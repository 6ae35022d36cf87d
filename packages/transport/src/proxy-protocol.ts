/**
 * PROXY protocol v1 (text) and v2 (binary) header parsing, as sent by HAProxy, AWS NLB, GCP and
 * others in front of a TCP/TLS listener so that the broker learns the real client address.
 *
 * Spec: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
 * - v1: `PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n`, at most 107 bytes.
 * - v2: 12-byte signature, ver/cmd, family/protocol, 2-byte length, addresses, then TLVs
 *   (ignored). LOCAL command (health checks) and UNSPEC/UNIX families carry no client address:
 *   the caller keeps the socket's own.
 *
 * `parseProxyHeader` is called on the bytes received so far: it answers "need more", a header
 * plus how many bytes it used, or throws ProxyProtocolError. Bytes after the header belong to
 * the next protocol (MQTT or TLS) and are handed on untouched.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ProxyProtocolError } from './errors.js';

export interface ProxyHeader {
  version: 1 | 2;
  /** Original client address and port; undefined for LOCAL / UNKNOWN / non-IP families. */
  source: { address: string; port: number } | undefined;
  destination: { address: string; port: number } | undefined;
}

export type ProxyParseResult = { done: false } | { done: true; header: ProxyHeader; consumed: number };

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V1_MAX_LENGTH = 107;
/** v2 allows 64 KiB of TLVs; no balancer sends more than a few hundred bytes. */
const V2_MAX_LENGTH = 4096;

export function parseProxyHeader(buf: Buffer): ProxyParseResult {
  if (buf.length === 0) return { done: false };
  if (buf[0] === 0x0d) return parseV2(buf);
  if (buf[0] === 0x50) return parseV1(buf);
  throw new ProxyProtocolError('no PROXY protocol header');
}

function startsWithPrefix(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV1(buf: Buffer): ProxyParseResult {
  if (!startsWithPrefix(buf, V1_PREFIX)) throw new ProxyProtocolError('bad PROXY v1 signature');
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    if (buf.length >= V1_MAX_LENGTH) throw new ProxyProtocolError('PROXY v1 header too long');
    return { done: false };
  }
  if (end + 2 > V1_MAX_LENGTH) throw new ProxyProtocolError('PROXY v1 header too long');
  const parts = buf.toString('latin1', 0, end).split(' ');
  const consumed = end + 2;
  if (parts[1] === 'UNKNOWN') return { done: true, header: { version: 1, source: undefined, destination: undefined }, consumed };
  if (parts.length !== 6) throw new ProxyProtocolError('PROXY v1 header: wrong number of fields');
  const [, family, src, dst, sport, dport] = parts;
  const check = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : undefined;
  if (check === undefined) throw new ProxyProtocolError(`PROXY v1 header: unknown family ${family}`);
  if (!check(src) || !check(dst)) throw new ProxyProtocolError('PROXY v1 header: bad address');
  return {
    done: true,
    header: { version: 1, source: { address: src, port: v1Port(sport) }, destination: { address: dst, port: v1Port(dport) } },
    consumed,
  };
}

function v1Port(text: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) throw new ProxyProtocolError('PROXY v1 header: bad port');
  const port = Number(text);
  if (port > 65535) throw new ProxyProtocolError('PROXY v1 header: bad port');
  return port;
}

function parseV2(buf: Buffer): ProxyParseResult {
  if (!startsWithPrefix(buf, V2_SIGNATURE)) throw new ProxyProtocolError('bad PROXY v2 signature');
  if (buf.length < 16) return { done: false };
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) throw new ProxyProtocolError('PROXY v2 header: unsupported version');
  const command = verCmd & 0x0f;
  if (command > 1) throw new ProxyProtocolError('PROXY v2 header: unknown command');
  const famProto = buf[13];
  const length = buf.readUInt16BE(14);
  if (length > V2_MAX_LENGTH) throw new ProxyProtocolError('PROXY v2 header too long');
  const consumed = 16 + length;
  if (buf.length < consumed) return { done: false };
  const body = buf.subarray(16, consumed);
  const none: ProxyParseResult = { done: true, header: { version: 2, source: undefined, destination: undefined }, consumed };
  if (command === 0) return none; // LOCAL: the balancer's own health check
  const family = famProto >> 4;
  if (family === 0x1) {
    if (body.length < 12) throw new ProxyProtocolError('PROXY v2 header: short IPv4 address block');
    return {
      done: true,
      header: {
        version: 2,
        source: { address: ipv4(body, 0), port: body.readUInt16BE(8) },
        destination: { address: ipv4(body, 4), port: body.readUInt16BE(10) },
      },
      consumed,
    };
  }
  if (family === 0x2) {
    if (body.length < 36) throw new ProxyProtocolError('PROXY v2 header: short IPv6 address block');
    return {
      done: true,
      header: {
        version: 2,
        source: { address: ipv6(body, 0), port: body.readUInt16BE(32) },
        destination: { address: ipv6(body, 16), port: body.readUInt16BE(34) },
      },
      consumed,
    };
  }
  return none; // UNSPEC or UNIX: keep the socket's address
}

function ipv4(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + i * 2).toString(16));
  // Compress the longest run of zero groups (RFC 5952) so addresses match what Node reports.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  const head = groups.slice(0, bestStart).join(':');
  const tail = groups.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** Encode a v1 header (tests, and tools that sit in front of a broker). */
export function encodeProxyV1(source: { address: string; port: number }, destination: { address: string; port: number }): Buffer {
  const family = isIPv6(source.address) ? 'TCP6' : 'TCP4';
  return Buffer.from(`PROXY ${family} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`, 'latin1');
}
