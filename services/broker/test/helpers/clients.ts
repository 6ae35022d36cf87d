/**
 * Promise helpers around MQTT.js (the real client under test): connect with a bound, collect
 * messages with a deadline, and wait for events. MQTT.js reconnects by default; every client
 * made here has reconnection off so that a refused or closed connection stays visible to the
 * test.
 */
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

const open = new Set<MqttClient>();

export interface Connected {
  client: MqttClient;
  connack: IConnackPacket;
}

/** Connect and resolve on CONNACK (success); reject on error, close or timeout. */
export function connect(url: string, options: IClientOptions = {}, timeoutMs = 5000): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      protocolVersion: 4,
      ...options,
    });
    open.add(client);
    const timer = setTimeout(() => {
      client.end(true);
      reject(new Error(`connect to ${url} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      client.end(true);
      reject(err);
    };
    client.once('connect', (connack) => {
      clearTimeout(timer);
      client.removeListener('error', fail);
      client.on('error', () => {});
      resolve({ client, connack });
    });
    client.once('error', fail);
    client.once('close', () => fail(new Error('closed before CONNACK')));
  });
}

/** Connect expecting a refusal; resolves with the CONNACK return/reason code, or 'closed'. */
export function connectRefused(url: string, options: IClientOptions = {}, timeoutMs = 5000): Promise<number | 'closed'> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: timeoutMs, protocolVersion: 4, ...options });
    open.add(client);
    const timer = setTimeout(() => {
      client.end(true);
      reject(new Error(`no refusal within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') {
        const code = packet.reasonCode ?? packet.returnCode ?? 0;
        if (code !== 0) {
          clearTimeout(timer);
          client.end(true);
          resolve(code);
        }
      }
    });
    client.once('connect', () => {
      clearTimeout(timer);
      client.end(true);
      reject(new Error('connection was accepted'));
    });
    client.on('error', () => {});
    client.once('close', () => {
      clearTimeout(timer);
      setImmediate(() => resolve('closed'));
    });
  });
}

/**
 * Collect exactly n messages (more may arrive later); rejects after timeoutMs with what came.
 * With `accept`, only the messages it accepts are collected and counted (others are ignored).
 */
export function collect(client: MqttClient, n: number, timeoutMs = 5000, accept: (m: Received) => boolean = () => true): Promise<Received[]> {
  return new Promise((resolve, reject) => {
    const got: Received[] = [];
    const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket) => {
      const m = { topic, payload, packet };
      if (!accept(m)) return;
      got.push(m);
      if (got.length >= n) finish();
    };
    const finish = () => {
      clearTimeout(timer);
      client.removeListener('message', onMessage);
      resolve(got);
    };
    const timer = setTimeout(() => {
      client.removeListener('message', onMessage);
      reject(new Error(`expected ${n} messages within ${timeoutMs} ms, got ${got.length}: ${got.slice(0, 10).map((m) => `${m.topic}=${m.payload}`).join(', ')}`));
    }, timeoutMs);
    if (n === 0) finish();
    else client.on('message', onMessage);
  });
}

/** Every message received (and accepted by `accept`) during the next `ms` milliseconds. */
export function collectFor(client: MqttClient, ms: number, accept: (m: Received) => boolean = () => true): Promise<Received[]> {
  return new Promise((resolve) => {
    const got: Received[] = [];
    const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket) => {
      const m = { topic, payload, packet };
      if (accept(m)) got.push(m);
    };
    client.on('message', onMessage);
    setTimeout(() => {
      client.removeListener('message', onMessage);
      resolve(got);
    }, ms);
  });
}

/** Resolve when the client's connection closes (rejects after timeoutMs). */
export function closed(client: MqttClient, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!client.connected && client.disconnected) return resolve();
    const timer = setTimeout(() => reject(new Error(`connection not closed within ${timeoutMs} ms`)), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resolve with the first server DISCONNECT packet (v5), rejecting after timeoutMs. */
export function serverDisconnect(client: MqttClient, timeoutMs = 5000): Promise<{ reasonCode: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no DISCONNECT within ${timeoutMs} ms`)), timeoutMs);
    client.once('disconnect', (packet) => {
      clearTimeout(timer);
      resolve({ reasonCode: packet.reasonCode ?? 0 });
    });
  });
}

/** Force-close every client made by these helpers (call in after()). */
export function closeAllClients(): void {
  for (const client of open) client.end(true);
  open.clear();
}

/** A unique, short topic/client id prefix per test so tests never see each other's traffic. */
let counter = 0;
export function uid(prefix = 't'): string {
  counter++;
  return `${prefix}${process.pid}x${counter}x${Math.floor(Math.random() * 1e6)}`;
}
