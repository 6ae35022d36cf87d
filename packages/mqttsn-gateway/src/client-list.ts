/**
 * Who may connect over MQTT-SN, and as which user. MQTT-SN 1.2 has no user name or password, so
 * the client id is all the gateway knows: a listed client id is allowed (listed with a user name,
 * it acts as that password-file user: that user's ACL rules apply); an unlisted one only when
 * anonymous clients are allowed.
 *
 * File format: one `<client id> [user name]` per line; a client id ending in `*` matches every
 * id with that prefix (the longest prefix wins); `#` starts a comment (a line's, or its rest).
 */
export interface ClientEntry {
  username: string | undefined;
}

/** A line that makes a client id (or prefix, `*` kept) act as a user. */
export interface UserMapping {
  line: number;
  clientId: string;
  username: string;
}

export class ClientList {
  private readonly exact = new Map<string, ClientEntry>();
  private readonly prefixes: Array<[prefix: string, entry: ClientEntry]> = [];
  /** Every line naming a user, for checking them against the password file. */
  readonly mappings: UserMapping[] = [];

  static parse(text: string): ClientList {
    const list = new ClientList();
    const lines = text.split(/\r?\n/);
    for (let n = 0; n < lines.length; n++) {
      // `#` starts a comment, at the start of a line or after a space (`sensor-1  # a comment`)
      const line = lines[n]!.replace(/(^|\s)#.*$/, '').trim();
      if (line === '') continue;
      const [id, username] = line.split(/\s+/);
      const entry = { username };
      if (username !== undefined) list.mappings.push({ line: n + 1, clientId: id!, username });
      if (id!.endsWith('*')) list.prefixes.push([id!.slice(0, -1), entry]);
      else list.exact.set(id!, entry);
    }
    list.prefixes.sort((a, b) => b[0].length - a[0].length);
    return list;
  }

  lookup(clientId: string): ClientEntry | undefined {
    return this.exact.get(clientId) ?? this.prefixes.find(([prefix]) => clientId.startsWith(prefix))?.[1];
  }
}
