/**
 * Predefined topic ids (MQTT-SN 1.2, 5.3.11): known to gateway and clients in advance, so a
 * client can publish (also at QoS -1) and subscribe without REGISTER. Every node loads the same
 * file, so a predefined id means the same topic on every node of a cluster.
 *
 * File format: one `<id> <topic name>` per line (id 1-65535), `#` starts a comment line.
 */
export interface PredefinedTopics {
  readonly byId: ReadonlyMap<number, string>;
  readonly byName: ReadonlyMap<string, number>;
}

export const NO_PREDEFINED_TOPICS: PredefinedTopics = { byId: new Map(), byName: new Map() };

/** A line of the predefined topics file is wrong; `line` is 1-based. */
export class PredefinedTopicsError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'PredefinedTopicsError';
    this.line = line;
  }
}

export function parsePredefinedTopics(text: string): PredefinedTopics {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\d+)\s+(\S.*)$/.exec(line);
    if (m === null) throw new PredefinedTopicsError(i + 1, 'expected "<id> <topic name>"');
    const id = Number(m[1]);
    const name = m[2]!.trim();
    if (id < 1 || id > 0xffff) throw new PredefinedTopicsError(i + 1, `topic id ${id} is not in 1-65535`);
    if (name.includes('+') || name.includes('#')) throw new PredefinedTopicsError(i + 1, `"${name}" is a filter, not a topic name`);
    if (byId.has(id)) throw new PredefinedTopicsError(i + 1, `topic id ${id} given twice`);
    if (byName.has(name)) throw new PredefinedTopicsError(i + 1, `"${name}" given twice`);
    byId.set(id, name);
    byName.set(name, id);
  });
  return { byId, byName };
}
