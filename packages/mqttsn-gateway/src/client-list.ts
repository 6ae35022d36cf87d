/**
 * Who may connect over MQTT-SN, and as which user. MQTT-SN 1.2 has no user name or password, so
 * the client id is all the gateway knows: a listed client id is allowed (listed with a user name,
 * it acts as that password-file user: that user's ACL rules apply); an unlisted one only when
 * anonymous clients are allowed.
 *
 * File format: one `<client id> [user name]` per line; a client id ending in `*` matches every
 * id with that prefix (the longest prefix wins); `#` starts a comment line.
 */
export interface ClientEntry {
  username: string | undefined;
}

export class ClientList {
  private readonly exact = new Map<string, ClientEntry>();
  private readonly prefixes: Array<[prefix: string, entry: ClientEntry]> = [];

  static parse(text: string): ClientList {
    const list = new ClientList();
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const [id, username] = line.split(/\s+/);
      const entry = { username };
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
