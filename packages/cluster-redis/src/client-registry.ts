/**
 * ClientRegistry on Redis: per client id an owner hash {node, epoch} and an epoch counter that
 * outlives it (same hash tag). Registering bumps the epoch in a Lua script, so concurrent
 * connects on two nodes get distinct epochs and the later one wins; unregister is a
 * compare-and-delete, so a stale owner cannot remove a newer registration.
 *
 * Redis restarted empty: the registrations this node made and still holds are remembered here
 * (`held`) and written again by `restore()` (called on every reconnect), unless a newer epoch was
 * recorded meanwhile. A takeover request for a held client id at a newer epoch (`forget`) drops it.
 * While Redis is down, `register` fails at once instead of queueing: the engine then serves the
 * client from this node's state (a CONNECT does not wait for Redis); such a client is not
 * registered, so a later connection with its id on another node does not take it over.
 */
import type { ClientRegistration, ClientRegistry } from '@mqtt-broker/core';
import type { Keys } from './keys.js';
import { REGISTER_CLIENT, RESTORE_CLIENT, UNREGISTER_CLIENT } from './lua.js';
import { assertReady, evalScript, type RedisClient } from './redis-client.js';
import { type RedisTimer, timed } from './timing.js';

export class RedisClientRegistry implements ClientRegistry {
  /** client id -> the registration this node made and has not released. */
  private readonly held = new Map<string, ClientRegistration>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    /** Told how long each registry command took. */
    private readonly timer?: RedisTimer,
  ) {}

  async register(clientId: string, nodeId: string): Promise<{ registration: ClientRegistration; previous: ClientRegistration | undefined }> {
    assertReady(this.client, 'client registration');
    const [prevNode, prevEpoch, epoch] = (await timed(this.timer, 'registry', evalScript(this.client, REGISTER_CLIENT, [this.keys.owner(clientId), this.keys.epoch(clientId)], [nodeId]))) as [
      string,
      string,
      number,
    ];
    const previous = prevNode === '' ? undefined : { nodeId: prevNode, epoch: Number(prevEpoch) };
    this.held.set(clientId, { nodeId, epoch: Number(epoch) });
    return { registration: { nodeId, epoch: Number(epoch) }, previous };
  }

  async unregister(clientId: string, registration: ClientRegistration): Promise<boolean> {
    const mine = this.held.get(clientId);
    if (mine !== undefined && mine.epoch === registration.epoch && mine.nodeId === registration.nodeId) this.held.delete(clientId);
    const r = await timed(
      this.timer,
      'registry',
      evalScript(this.client, UNREGISTER_CLIENT, [this.keys.owner(clientId), this.keys.epoch(clientId)], [registration.nodeId, String(registration.epoch)]),
    );
    return r === 1;
  }

  async lookup(clientId: string): Promise<ClientRegistration | undefined> {
    const [nodeId, epoch] = await timed(this.timer, 'registry', this.client.hmget(this.keys.owner(clientId), 'node', 'epoch'));
    return nodeId === null || epoch === null ? undefined : { nodeId, epoch: Number(epoch) };
  }

  /** Another node claimed `clientId` at `epoch`: a held registration older than that is stale. */
  forget(clientId: string, epoch: number): void {
    const mine = this.held.get(clientId);
    if (mine !== undefined && mine.epoch < epoch) this.held.delete(clientId);
  }

  /** The epoch this node registered `clientId` at, while it holds that registration (session fencing). */
  epochOf(clientId: string): number | undefined {
    return this.held.get(clientId)?.epoch;
  }

  /** How many registrations this node holds (for tests and metrics). */
  get heldCount(): number {
    return this.held.size;
  }

  /** Writes every held registration again (after Redis came back empty); returns how many were written. */
  async restore(): Promise<number> {
    let written = 0;
    const all = [...this.held];
    for (let i = 0; i < all.length; i += 1000) {
      // one batch of scripts pipelined on the connection, not one round trip each
      await Promise.all(
        all.slice(i, i + 1000).map(async ([clientId, r]) => {
          const ok = await evalScript(this.client, RESTORE_CLIENT, [this.keys.owner(clientId), this.keys.epoch(clientId)], [r.nodeId, String(r.epoch)]);
          if (ok === 1) written++;
          else if (ok === 0 && this.held.get(clientId) === r) this.held.delete(clientId);
        }),
      );
    }
    return written;
  }
}
