import type { SessionSnapshot, SessionStore } from '@mqtt-broker/core';
import { deepClone } from './clone.js';

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionSnapshot>();

  async load(clientId: string): Promise<SessionSnapshot | undefined> {
    const s = this.sessions.get(clientId);
    return s === undefined ? undefined : deepClone(s);
  }

  async save(snapshot: SessionSnapshot): Promise<void> {
    this.sessions.set(snapshot.clientId, deepClone(snapshot));
  }

  async delete(clientId: string): Promise<void> {
    this.sessions.delete(clientId);
  }

  async clientIds(): Promise<string[]> {
    return [...this.sessions.keys()];
  }
}
