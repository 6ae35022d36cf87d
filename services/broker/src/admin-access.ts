/**
 * Who may reach the gRPC admin API: the loopback test behind the rule "an admin API bound to a
 * non-loopback address needs a token" (config.ts), and reading ADMIN_TOKEN_FILE.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** True for 127.0.0.0/8, ::1, ::ffff:127.x.x.x and `localhost`; host names otherwise count as reachable. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && (mapped[1] ?? '').startsWith('127.');
  }
  return false;
}

/** The token in a file, without surrounding whitespace (files usually end with a newline). */
export function readTokenFile(path: string): string {
  return readFileSync(path, 'utf8').trim();
}
