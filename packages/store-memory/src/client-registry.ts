import type { ClientRegistration, ClientRegistry } from '@mqtt-broker/core';

export class MemoryClientRegistry implements ClientRegistry {
  private readonly owners = new Map<string, ClientRegistration>();
  private readonly epochs = new Map<string, number>();

  async register(clientId: string, nodeId: string): Promise<{ registration: ClientRegistration; previous: ClientRegistration | undefined }> {
    const previous = this.owners.get(clientId);
    const epoch = (this.epochs.get(clientId) ?? 0) + 1;
    this.epochs.set(clientId, epoch);
    const registration = { nodeId, epoch };
    this.owners.set(clientId, registration);
    return { registration: { ...registration }, previous: previous === undefined ? undefined : { ...previous } };
  }

  async unregister(clientId: string, registration: ClientRegistration): Promise<boolean> {
    const current = this.owners.get(clientId);
    if (current === undefined || current.nodeId !== registration.nodeId || current.epoch !== registration.epoch) return false;
    this.owners.delete(clientId);
    return true;
  }

  async lookup(clientId: string): Promise<ClientRegistration | undefined> {
    const r = this.owners.get(clientId);
    return r === undefined ? undefined : { ...r };
  }
}
