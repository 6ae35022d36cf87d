/**
 * ClientRegistry on Redis: per client id an owner hash {node, epoch} and an epoch counter that
 * outlives it (same hash tag). Registering bumps the epoch in a Lua script, so concurrent
 * connects on two nodes get distinct epochs and the later one wins; unregister is a
 * compare-and-delete, so a stale owner cannot remove a newer registration.
 */
import type { ClientRegistration, ClientRegistry } from '@mqtt-broker/core';
import type { Keys } from './keys.js';
import { REGISTER_CLIENT, UNREGISTER_CLIENT } from './lua.js';
import { evalScript, type RedisClient } from './redis-client.js';

export class RedisClientRegistry implements ClientRegistry {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
  ) {}

  async register(clientId: string, nodeId: string): Promise<{ registration: ClientRegistration; previous: ClientRegistration | undefined }> {
    const [prevNode, prevEpoch, epoch] = (await evalScript(this.client, REGISTER_CLIENT, [this.keys.owner(clientId), this.keys.epoch(clientId)], [nodeId])) as [
      string,
      string,
      number,
    ];
    const previous = prevNode === '' ? undefined : { nodeId: prevNode, epoch: Number(prevEpoch) };
    return { registration: { nodeId, epoch: Number(epoch) }, previous };
  }

  async unregister(clientId: string, registration: ClientRegistration): Promise<boolean> {
    const r = await evalScript(this.client, UNREGISTER_CLIENT, [this.keys.owner(clientId), this.keys.epoch(clientId)], [registration.nodeId, String(registration.epoch)]);
    return r === 1;
  }

  async lookup(clientId: string): Promise<ClientRegistration | undefined> {
    const [nodeId, epoch] = await this.client.hmget(this.keys.owner(clientId), 'node', 'epoch');
    return nodeId === null || epoch === null ? undefined : { nodeId, epoch: Number(epoch) };
  }
}
