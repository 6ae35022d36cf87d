// k6/x/mqtt (grafana/xk6-mqtt API: Client, on, connect, subscribeAsync, publish, end) over
// MQTT.js 3.1.1, the protocol version xk6-mqtt speaks (Eclipse Paho). For running the k6 scripts'
// logic in tests; it does not prove compatibility with the real extension.
import mqtt from 'mqtt';

export const clients = new Set();

export class Client {
  constructor(options = {}) {
    this.options = options;
    this.handlers = {};
    this.connected = false;
  }
  on(event, listener) {
    this.handlers[event] = listener;
  }
  connect(url, options = {}) {
    clients.add(this);
    this.c = mqtt.connect(url, {
      clientId: this.options.client_id,
      username: this.options.username,
      password: this.options.password,
      keepalive: options.keepalive ?? 60,
      clean: options.clean_session ?? true,
      connectTimeout: options.connect_timeout ?? 30_000,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    this.c.on('connect', () => {
      this.connected = true;
      Promise.resolve(this.handlers.connect?.()).catch((e) => this.handlers.error?.({ name: 'MQTTError', message: e.message, method: 'connect' }));
    });
    this.c.on('message', (topic, payload) => {
      const ab = payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length);
      this.handlers.message?.(topic, ab);
    });
    this.c.on('error', (e) => this.handlers.error?.({ name: 'MQTTError', message: e.message, method: 'connect' }));
    this.c.on('close', () => {
      if (this.connected) this.handlers.end?.();
      this.connected = false;
      clients.delete(this);
    });
  }
  async subscribeAsync(topic, options = {}) {
    await this.c.subscribeAsync(topic, { qos: options.qos ?? 0 });
  }
  subscribe(topic, options = {}) {
    this.c.subscribe(topic, { qos: options.qos ?? 0 });
  }
  publish(topic, payload, options = {}) {
    this.c.publish(topic, typeof payload === 'string' ? payload : Buffer.from(payload), { qos: options.qos ?? 0, retain: options.retain ?? false });
  }
  end() {
    this.c.end();
  }
}
