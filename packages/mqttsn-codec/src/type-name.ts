import { SnType } from './packets.js';

const NAMES = new Map<number, string>(Object.entries(SnType).map(([name, code]) => [code, name.toLowerCase()]));

/** Lower-case name of a MsgType (metric label), 'unknown' for a reserved value. */
export function snTypeName(type: number): string {
  return NAMES.get(type) ?? 'unknown';
}
