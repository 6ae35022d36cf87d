const names = [
  'RESERVED',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
] as const;

/** 'PUBLISH' for 3, ...; 'UNKNOWN(n)' outside 0..15. */
export function packetTypeName(type: number): string {
  return names[type] ?? `UNKNOWN(${type})`;
}
