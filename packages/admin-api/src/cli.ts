/**
 * mqttctl: the admin API from a shell. Every command is one or a few gRPC calls through
 * AdminClient; listings follow next_page_token until --limit items are shown. Output is a human
 * table, or with --json the API's messages as JSON. Returns the exit code instead of exiting:
 * 0 ok, 1 the server refused or could not be reached, 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AdminApiError, AdminClient } from './client.js';
import { duration, expiry, payloadText, protocolName, table, timestamp, toJson } from './format.js';
import type { Client, RetainedMessage, Subscription, UserProperty } from './wire.js';

export const DEFAULT_SERVER = '127.0.0.1:9100';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
}

interface GlobalOptions {
  server: string;
  json: boolean;
  timeout: number;
  token?: string;
  tls: boolean;
  cafile?: Buffer;
  servername?: string;
}

function pemFile(path: string): Buffer {
  try {
    const data = readFileSync(path);
    if (!data.includes('-----BEGIN')) throw new Error('not a PEM file');
    return data;
  } catch (error) {
    throw new InvalidArgumentError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`not a positive integer: ${value}`);
  return n;
}

function qosValue(value: string): number {
  if (!['0', '1', '2'].includes(value)) throw new InvalidArgumentError(`qos must be 0, 1 or 2: ${value}`);
  return Number(value);
}

function userProperty(value: string, previous: UserProperty[] = []): UserProperty[] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`user property must be key=value: ${value}`);
  return [...previous, { key: value.slice(0, eq), value: value.slice(eq + 1) }];
}

/** Reads pages until `limit` items or the last page. */
async function collect<T>(limit: number, fetch: (pageSize: number, pageToken: string) => Promise<{ items: T[]; next: string }>): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let token = '';
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await fetch(Math.min(1000, limit - items.length), token);
    items.push(...page.items);
    token = page.next;
    if (token === '' || items.length >= limit) break;
  }
  return { items: items.slice(0, limit), more: token !== '' };
}

function clientRow(c: Client): string[] {
  return [
    c.clientId,
    c.node,
    c.connected ? 'yes' : 'no',
    c.address || '-',
    protocolName(c.protocolVersion),
    c.connected ? timestamp(c.connectedSinceMs) : '-',
    c.cleanStart ? 'yes' : 'no',
    expiry(c.sessionExpirySeconds),
    String(c.subscriptions),
    String(c.inflight),
    String(c.queued),
  ];
}
const CLIENT_HEADERS = ['CLIENT ID', 'NODE', 'CONNECTED', 'ADDRESS', 'PROTOCOL', 'SINCE', 'CLEAN', 'EXPIRY', 'SUBS', 'INFLIGHT', 'QUEUED'];

function subscriptionRow(s: Subscription): string[] {
  const flags = [s.noLocal ? 'nl' : '', s.retainAsPublished ? 'rap' : '', s.retainHandling !== 0 ? `rh${s.retainHandling}` : ''].filter((f) => f !== '');
  return [s.topicFilter, s.clientId, s.node, String(s.qos), flags.join(',') || '-', s.subscriptionId === 0 ? '-' : String(s.subscriptionId)];
}
const SUBSCRIPTION_HEADERS = ['TOPIC FILTER', 'CLIENT ID', 'NODE', 'QOS', 'OPTIONS', 'SUB ID'];

function retainedRow(m: RetainedMessage): string[] {
  return [m.topic, String(m.qos), String(m.payload.length), timestamp(m.expiresAtMs), payloadText(m.payload)];
}
const RETAINED_HEADERS = ['TOPIC', 'QOS', 'BYTES', 'EXPIRES', 'PAYLOAD'];

export async function runMqttctl(argv: string[], io: CliIo): Promise<number> {
  const program = new Command('mqttctl');
  let exitCode = 0;
  program
    .description('Inspect and manage an MQTT broker (cluster) through its gRPC admin API')
    .addOption(new Option('-s, --server <host:port>', 'admin API address (GRPC_PORT of any node; env MQTTCTL_SERVER)').default(io.env.MQTTCTL_SERVER || DEFAULT_SERVER))
    .version(packageVersion(), '-V, --version')
    .option('--json', 'print the API responses as JSON', false)
    .option('--timeout <ms>', 'deadline per call, ms', positiveInt, 10_000)
    .addOption(new Option('--token <token>', "the broker's ADMIN_TOKEN (env MQTTCTL_TOKEN, which keeps it out of ps)").default(io.env.MQTTCTL_TOKEN || undefined, '$MQTTCTL_TOKEN'))
    .option('--tls', 'connect with TLS (the broker has ADMIN_TLS=true); trusts the system CAs unless --cafile', false)
    .option('--cafile <path>', 'PEM CA bundle that signed the broker certificate (implies --tls)', pemFile)
    .option('--servername <name>', 'name to verify in the broker certificate when --server is not it (implies --tls)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();

  const withClient = async (cmd: Command, run: (client: AdminClient, g: GlobalOptions) => Promise<void>): Promise<void> => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const tls =
      g.cafile !== undefined || g.servername !== undefined
        ? { ...(g.cafile !== undefined ? { ca: g.cafile } : {}), ...(g.servername !== undefined ? { serverName: g.servername } : {}) }
        : g.tls;
    const client = new AdminClient(g.server, { timeoutMs: g.timeout, tls, ...(g.token !== undefined ? { token: g.token } : {}) });
    try {
      await run(client, g);
    } finally {
      client.close();
    }
  };
  const print = (g: GlobalOptions, json: unknown, human: () => string): void => {
    io.out(`${g.json ? toJson(json) : human()}\n`);
  };

  program
    .command('status')
    .description('the nodes of the cluster and their counts')
    .action(async (_o: object, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const r = await client.clusterStatus();
        print(g, r, () =>
          table(
            ['NODE', 'VERSION', 'NODEJS', 'WEBSOCKET', 'UPTIME', 'CONNECTIONS', 'SESSIONS', 'SUBSCRIPTIONS', 'RETAINED', 'INFLIGHT', 'QUEUED'],
            r.nodes.map((n) =>
              n.unreachable
                ? [n.id, 'unreachable', '-', '-', '-', '-', '-', '-', '-', '-', '-']
                : [
                    n.id,
                    n.version,
                    n.runtime || '-',
                    n.websocketEngine || '-',
                    duration(n.uptimeSeconds),
                    ...[n.connections, n.sessions, n.subscriptions, n.retained, n.inflight, n.queued].map(String),
                  ],
            ),
          ),
        );
      }),
    );

  program
    .command('clients')
    .description('list clients (connected, and offline persistent sessions)')
    .option('-p, --prefix <prefix>', 'only client ids starting with this', '')
    .option('-n, --limit <n>', 'show at most n clients', positiveInt, 100)
    .action(async (o: { prefix: string; limit: number }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const { items, more } = await collect(o.limit, async (pageSize, pageToken) => {
          const r = await client.listClients({ clientIdPrefix: o.prefix, pageSize, pageToken });
          return { items: r.clients, next: r.nextPageToken };
        });
        print(g, { clients: items, more }, () => table(CLIENT_HEADERS, items.map(clientRow)) + (more ? `\n(more clients: raise --limit)` : ''));
      }),
    );

  program
    .command('client <clientId>')
    .description('one client and its subscriptions')
    .action(async (clientId: string, _o: object, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const r = await client.getClient(clientId);
        const c = r.client;
        print(g, r, () => {
          const fields: Array<[string, string]> = [
            ['client id', c.clientId],
            ['node', c.node || '- (stored in Redis, held by no node)'],
            ['connected', c.connected ? 'yes' : 'no'],
            ['username', c.username || '-'],
            ['address', c.address || '-'],
            ['transport', c.transport || '-'],
            ['protocol', protocolName(c.protocolVersion)],
            ['connected since', c.connected ? timestamp(c.connectedSinceMs) : '-'],
            ['disconnected at', c.connected ? '-' : timestamp(c.disconnectedAtMs)],
            ['clean start', c.cleanStart ? 'yes' : 'no'],
            ['session expiry', expiry(c.sessionExpirySeconds)],
            ['keep alive', c.connected ? `${c.keepAliveSeconds}s` : '-'],
            ['in flight', String(c.inflight)],
            ['queued', String(c.queued)],
          ];
          const head = fields.map(([k, v]) => `${`${k}:`.padEnd(17)}${v}`).join('\n');
          const subs = r.subscriptions.length === 0 ? 'subscriptions:   none' : `subscriptions:\n${table(SUBSCRIPTION_HEADERS, r.subscriptions.map(subscriptionRow))}`;
          return `${head}\n${subs}`;
        });
      }),
    );

  program
    .command('kick <clientId>')
    .description('disconnect a client (MQTT 5.0: DISCONNECT 0x98 administrative action)')
    .option('--discard-session', 'also end its session (subscriptions, queued messages)', false)
    .action(async (clientId: string, o: { discardSession: boolean }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const r = await client.kickClient(clientId, o.discardSession);
        print(g, r, () => {
          const what = r.disconnected ? `disconnected ${clientId} on ${r.node}` : `${clientId} was not connected (node ${r.node || '-'})`;
          return r.sessionDiscarded ? `${what}; session discarded` : what;
        });
      }),
    );

  program
    .command('subs')
    .description('list subscriptions')
    .option('-p, --prefix <prefix>', 'only topic filters starting with this', '')
    .option('-c, --client <clientId>', "only this client's subscriptions")
    .option('-n, --limit <n>', 'show at most n subscriptions', positiveInt, 100)
    .action(async (o: { prefix: string; client?: string; limit: number }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const { items, more } = await collect(o.limit, async (pageSize, pageToken) => {
          const r = await client.listSubscriptions({ topicFilterPrefix: o.prefix, clientId: o.client ?? '', pageSize, pageToken });
          return { items: r.subscriptions, next: r.nextPageToken };
        });
        print(g, { subscriptions: items, more }, () => table(SUBSCRIPTION_HEADERS, items.map(subscriptionRow)) + (more ? `\n(more subscriptions: raise --limit)` : ''));
      }),
    );

  program
    .command('publish <topic> <payload>')
    .description('publish a message as the broker')
    .option('-q, --qos <qos>', 'QoS 0, 1 or 2', qosValue, 0)
    .option('-r, --retain', 'retain the message', false)
    .option('-u, --user-property <key=value>', 'MQTT 5.0 user property (repeatable)', userProperty)
    .option('--content-type <type>', 'MQTT 5.0 content type')
    .option('--expiry <seconds>', 'message expiry interval, seconds', positiveInt)
    .action(async (topic: string, payload: string, o: { qos: number; retain: boolean; userProperty?: UserProperty[]; contentType?: string; expiry?: number }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const r = await client.publish({
          topic,
          payload: Buffer.from(payload, 'utf8'),
          qos: o.qos,
          retain: o.retain,
          userProperties: o.userProperty ?? [],
          contentType: o.contentType ?? '',
          messageExpirySeconds: o.expiry ?? 0,
        });
        print(g, r, () => `published to ${topic}: ${r.matched} matching subscription${r.matched === 1 ? '' : 's'}`);
      }),
    );

  const retained = program.command('retained').description('retained messages');
  retained
    .command('get <topicOrFilter>')
    .description('the retained message on a topic, or every one matching a filter (+, #)')
    .option('-n, --limit <n>', 'show at most n messages', positiveInt, 100)
    .action(async (topicOrFilter: string, o: { limit: number }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const isFilter = topicOrFilter.includes('+') || topicOrFilter.includes('#');
        const { items, more } = await collect(o.limit, async (pageSize, pageToken) => {
          const r = await client.getRetained({ ...(isFilter ? { filter: topicOrFilter } : { topic: topicOrFilter }), pageSize, pageToken });
          return { items: r.messages, next: r.nextPageToken };
        });
        print(g, { messages: items, more }, () => table(RETAINED_HEADERS, items.map(retainedRow)) + (more ? `\n(more messages: raise --limit)` : ''));
      }),
    );
  retained
    .command('delete <topic>')
    .description('delete the retained message on a topic')
    .action(async (topic: string, _o: object, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const r = await client.deleteRetained(topic);
        print(g, r, () => (r.deleted ? `deleted the retained message on ${topic}` : `nothing was retained on ${topic}`));
      }),
    );

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      exitCode = error.exitCode === 0 ? 0 : 2;
    } else if (error instanceof AdminApiError) {
      const server = program.opts<GlobalOptions>().server;
      const hint = error.code === status.UNAUTHENTICATED ? ' (give --token or set MQTTCTL_TOKEN)' : '';
      io.err(error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED ? `mqttctl: cannot reach the admin API at ${server}: ${error.details}\n` : `mqttctl: ${error.message}${hint}\n`);
      exitCode = 1;
    } else {
      throw error;
    }
  }
  return exitCode;
}
