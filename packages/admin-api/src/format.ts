/** Human output of mqttctl: aligned text tables and a few value formats. */

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function protocolName(version: number): string {
  return version === 3 ? '3.1' : version === 4 ? '3.1.1' : version === 5 ? '5.0' : String(version);
}

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

export function timestamp(ms: number): string {
  return ms === 0 ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function expiry(seconds: number): string {
  return seconds === 0xffffffff ? 'never' : `${seconds}s`;
}

/** Payload as text when it is printable UTF-8, else hex; cut at `max` characters. */
export function payloadText(payload: Buffer, max = 60): string {
  const text = payload.toString('utf8');
  const printable = Buffer.from(text, 'utf8').equals(payload) && !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text);
  const shown = printable ? text.replace(/\s/g, ' ') : `0x${payload.toString('hex')}`;
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}

/** JSON with Buffers as { utf8, base64 } instead of Node's byte arrays. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      const b = Buffer.from((v as { data: number[] }).data);
      return { utf8: b.toString('utf8'), base64: b.toString('base64') };
    }
    return v;
  }, 2);
}
