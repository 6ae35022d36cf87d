/**
 * A Mosquitto acl_file, parsed and evaluated the way mosquitto 2.0 (src/security_default.c) does.
 *
 * File: '#' comment lines; `user <name>` starts a user's section; `topic [read|write|readwrite|deny]
 * <topic>` adds a rule to the current section (the anonymous section before any `user` line);
 * `pattern [access] <pattern>` adds a rule for every client, with %c (client id) and %u (user name)
 * substituted. Access defaults to readwrite. An unknown keyword, an unknown access type, a missing
 * topic or an invalid topic filter makes the whole file invalid (AclParseError), as in mosquitto.
 *
 * Check (publish = write, delivery = read), first answer wins:
 *  1. the client's own rules: its user section, or the anonymous section when it has no user name.
 *     `deny` rules first (mosquitto puts them at the head of the list): a matching deny -> denied.
 *     Then the others in file order: a matching rule granting the access -> allowed.
 *  2. if any pattern exists and the user name or client id contains '+' or '#' -> denied.
 *  3. patterns, deny first then in file order, after substitution. A pattern using %u is skipped
 *     for a client without user name. Stricter than mosquitto 2.0.11 (which only refuses '+' and
 *     '#'): a pattern using %c (%u) is skipped when the client id (user name) contains '/', so
 *     client "a/b" cannot reach into client "a"'s `dev/%c/#` subtree.
 *  4. denied.
 * Rule topics match with MQTT filter semantics, including the '$' rule: '#' does not grant $SYS.
 */
import { readFile } from 'node:fs/promises';
import { isValidTopicFilter, topicMatches } from '@mqtt-broker/topics';

export const AclAccess = { None: 0, Read: 1, Write: 2, ReadWrite: 3 } as const;
export type AclAccessValue = (typeof AclAccess)[keyof typeof AclAccess];

export interface AclRule {
  readonly access: AclAccessValue;
  readonly topic: string;
}

export interface AclPattern extends AclRule {
  readonly usesClientId: boolean;
  readonly usesUsername: boolean;
}

export class AclParseError extends Error {
  readonly line: number;
  constructor(message: string, line: number, path?: string) {
    super(`${path ?? 'acl_file'}:${line}: ${message}`);
    this.name = 'AclParseError';
    this.line = line;
  }
}

interface Identity {
  readonly clientId: string;
  readonly username: string | undefined;
}

interface ClientView {
  clientId: string;
  username: string | undefined;
  ownDeny: readonly AclRule[];
  ownGrant: readonly AclRule[];
  patternDeny: AclRule[];
  patternGrant: AclRule[];
  /** Patterns exist and the user name or client id contains '+' or '#': patterns deny all. */
  dangerous: boolean;
}

/** A client's rules in evaluation order: deny rules, then grants in file order. */
interface RuleList<R extends AclRule> {
  deny: R[];
  grant: R[];
}

function emptyList<R extends AclRule>(): RuleList<R> {
  return { deny: [], grant: [] };
}

function addRule<R extends AclRule>(list: RuleList<R>, rule: R): void {
  // mosquitto prepends deny rules; their relative order is irrelevant (any match denies)
  if (rule.access === AclAccess.None) list.deny.push(rule);
  else list.grant.push(rule);
}

const ACCESS_WORDS: Record<string, AclAccessValue> = {
  read: AclAccess.Read,
  write: AclAccess.Write,
  readwrite: AclAccess.ReadWrite,
  deny: AclAccess.None,
};

export class Acl {
  readonly path: string | undefined;
  readonly #anonymous: RuleList<AclRule> = emptyList();
  readonly #users = new Map<string, RuleList<AclRule>>();
  readonly #patterns: RuleList<AclPattern> = emptyList();
  readonly #views = new WeakMap<Identity, ClientView>();

  private constructor(path: string | undefined) {
    this.path = path;
  }

  static parse(text: string, path?: string): Acl {
    const acl = new Acl(path);
    let section: RuleList<AclRule> = acl.#anonymous;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      // mosquitto strips trailing white space, skips lines starting with '#', splits on ' '
      const line = lines[i].replace(/\s+$/, '');
      if (line.startsWith('#')) continue;
      const trimmed = line.replace(/^ +/, '');
      if (trimmed.length === 0) continue;
      const sp = trimmed.indexOf(' ');
      const keyword = sp === -1 ? trimmed : trimmed.slice(0, sp);
      const rest = sp === -1 ? '' : trimmed.slice(sp + 1).replace(/^ +/, '');
      if (keyword === 'user') {
        const name = rest.trim();
        if (name.length === 0) throw new AclParseError('missing user name', lineNo, path);
        let list = acl.#users.get(name);
        if (list === undefined) {
          list = emptyList();
          acl.#users.set(name, list);
        }
        section = list;
      } else if (keyword === 'topic' || keyword === 'pattern') {
        if (rest.length === 0) throw new AclParseError(`empty ${keyword}`, lineNo, path);
        const sp2 = rest.indexOf(' ');
        let access: AclAccessValue = AclAccess.ReadWrite;
        let topic = rest;
        if (sp2 !== -1) {
          const word = rest.slice(0, sp2);
          const value = ACCESS_WORDS[word];
          if (value === undefined) throw new AclParseError(`invalid access type "${word}"`, lineNo, path);
          access = value;
          topic = rest.slice(sp2 + 1).trim();
        }
        if (!isValidTopicFilter(topic)) throw new AclParseError(`invalid topic "${topic}"`, lineNo, path);
        if (keyword === 'topic') addRule(section, { access, topic });
        else addRule(acl.#patterns, { access, topic, usesClientId: topic.includes('%c'), usesUsername: topic.includes('%u') });
      } else {
        throw new AclParseError(`invalid line "${trimmed}"`, lineNo, path);
      }
    }
    return acl;
  }

  /**
   * An ACL of `pattern` rules only (e.g. from a token's claims): every rule applies to every
   * client, with %c / %u substituted and the same dangerous-character rules as the file's patterns.
   * Throws AclParseError (line = rule index + 1) on an invalid topic filter.
   */
  static fromPatterns(rules: readonly AclRule[], origin = 'acl claim'): Acl {
    const acl = new Acl(undefined);
    rules.forEach((rule, i) => {
      if (!isValidTopicFilter(rule.topic)) throw new AclParseError(`invalid topic "${rule.topic}"`, i + 1, origin);
      addRule(acl.#patterns, { access: rule.access, topic: rule.topic, usesClientId: rule.topic.includes('%c'), usesUsername: rule.topic.includes('%u') });
    });
    return acl;
  }

  /** Names of users with a section. */
  users(): IterableIterator<string> {
    return this.#users.keys();
  }

  get patternCount(): number {
    return this.#patterns.deny.length + this.#patterns.grant.length;
  }

  /** Mosquitto's check of one topic for read or write access. */
  check(client: Identity, topic: string, access: typeof AclAccess.Read | typeof AclAccess.Write): boolean {
    const view = this.#view(client);
    for (const rule of view.ownDeny) if (topicMatches(rule.topic, topic)) return false;
    for (const rule of view.ownGrant) if ((rule.access & access) !== 0 && topicMatches(rule.topic, topic)) return true;
    if (view.dangerous) return false;
    for (const rule of view.patternDeny) if (topicMatches(rule.topic, topic)) return false;
    for (const rule of view.patternGrant) if ((rule.access & access) !== 0 && topicMatches(rule.topic, topic)) return true;
    return false;
  }

  /**
   * The read rules that apply to the client, each as { grant, denies }: the topics it may read
   * through `grant` are those matching grant and none of the denies evaluated before it.
   */
  readScopes(client: Identity): { grant: string; denies: string[] }[] {
    const view = this.#view(client);
    const ownDenies = view.ownDeny.map((r) => r.topic);
    const patternDenies = [...ownDenies, ...view.patternDeny.map((r) => r.topic)];
    const scopes: { grant: string; denies: string[] }[] = [];
    for (const rule of view.ownGrant) if ((rule.access & AclAccess.Read) !== 0) scopes.push({ grant: rule.topic, denies: ownDenies });
    for (const rule of view.patternGrant) if ((rule.access & AclAccess.Read) !== 0) scopes.push({ grant: rule.topic, denies: patternDenies });
    return scopes;
  }

  /**
   * The rules that apply to one client, patterns already substituted. Cached per identity object
   * (the core keeps one per connection), so the per-message check allocates nothing.
   */
  #view(client: Identity): ClientView {
    const cached = this.#views.get(client);
    if (cached !== undefined && cached.clientId === client.clientId && cached.username === client.username) return cached;
    const own = this.#ownRules(client);
    const view: ClientView = {
      clientId: client.clientId,
      username: client.username,
      ownDeny: own?.deny ?? [],
      ownGrant: own?.grant ?? [],
      patternDeny: [],
      patternGrant: [],
      dangerous: false,
    };
    const hasPatterns = this.#patterns.deny.length + this.#patterns.grant.length > 0;
    const isDangerous = dangerous(client.clientId) || (client.username !== undefined && dangerous(client.username));
    if (hasPatterns && isDangerous) {
      // mosquitto: any pattern + a user name or client id with '+' or '#' -> the pattern stage denies
      view.dangerous = true;
    } else {
      for (const rule of this.#patterns.deny) {
        const topic = substitute(rule, client);
        if (topic !== undefined) view.patternDeny.push({ access: rule.access, topic });
      }
      for (const rule of this.#patterns.grant) {
        const topic = substitute(rule, client);
        if (topic !== undefined) view.patternGrant.push({ access: rule.access, topic });
      }
    }
    this.#views.set(client, view);
    return view;
  }

  #ownRules(client: Identity): RuleList<AclRule> | undefined {
    return client.username === undefined ? this.#anonymous : this.#users.get(client.username);
  }
}

function dangerous(s: string): boolean {
  return s.indexOf('+') !== -1 || s.indexOf('#') !== -1;
}

/**
 * %c and %u replaced left to right as mosquitto does; undefined when the pattern cannot apply to
 * this client (%u without a user name, or a value containing '/').
 */
function substitute(rule: AclPattern, client: Identity): string | undefined {
  if (!rule.usesClientId && !rule.usesUsername) return rule.topic;
  if (rule.usesUsername && (client.username === undefined || client.username.includes('/'))) return undefined;
  if (rule.usesClientId && client.clientId.includes('/')) return undefined;
  const t = rule.topic;
  let out = '';
  for (let i = 0; i < t.length; i++) {
    if (t.charCodeAt(i) === 0x25 /* % */ && i < t.length - 1) {
      const next = t[i + 1];
      if (next === 'c') {
        out += client.clientId;
        i++;
        continue;
      }
      if (next === 'u' && client.username !== undefined) {
        out += client.username;
        i++;
        continue;
      }
    }
    out += t[i];
  }
  return out;
}

export async function loadAclFile(path: string): Promise<Acl> {
  return Acl.parse(await readFile(path, 'utf8'), path);
}
