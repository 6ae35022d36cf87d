/**
 * A raw MQTT client over a plain TCP socket: sends packets (serialised by mqtt-packet, an
 * implementation independent of ours) or arbitrary bytes, and reads what the broker sends back
 * with a deadline. Used where a well-behaved client cannot be made to misbehave: protocol
 * violations, withheld acknowledgements, exact flags on the wire.
 */
import { Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export type Version = 3 | 4 | 5;

export class RawClient {
  readonly socket: Socket;
  readonly received: Packet[] = [];
  /** Every byte received, in order (for answers the parser cannot be trusted with). */
  readonly bytes: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private parser: ReturnType<typeof mqttPacket.parser>;
  parseError: Error | undefined;
  isClosed = false;
  private closedPromise: Promise<void>;

  private constructor(socket: Socket, readonly version: Version) {
    this.socket = socket;
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (packet: Packet) => {
      this.received.push(packet);
      this.wake();
    });
    this.parser.on('error', (err: Error) => {
      this.parseError = err;
      this.wake();
    });
    socket.on('data', (chunk: Buffer) => {
      this.bytes.push(chunk);
      this.parser.parse(chunk);
    });
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      });
    });
  }

  static open(port: number, version: Version = 4, timeoutMs = 3000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`raw connect to ${port} timed out`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.connect(port, '127.0.0.1', () => {
        clearTimeout(timer);
        resolve(new RawClient(socket, version));
      });
    });
  }

  /** Open, send CONNECT and require a successful CONNACK. */
  static async connected(port: number, version: Version, connect: Partial<mqttPacket.IConnectPacket> = {}): Promise<RawClient> {
    const raw = await RawClient.open(port, version);
    raw.send({ cmd: 'connect', protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: '', ...connect } as Packet);
    const connack = await raw.next('connack');
    const code = (connack as mqttPacket.IConnackPacket).reasonCode ?? (connack as mqttPacket.IConnackPacket).returnCode;
    if (code !== 0) throw new Error(`CONNACK refused: ${code}`);
    return raw;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  write(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /**
   * The next received packet of the given type (earlier packets of other types are skipped,
   * but kept in `received`). Rejects when the socket closes first or after timeoutMs.
   */
  async next(cmd: Packet['cmd'], timeoutMs = 3000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    let index = 0;
    for (;;) {
      for (; index < this.received.length; index++) {
        const packet = this.received[index];
        if (packet.cmd === cmd) {
          this.received.splice(index, 1);
          return packet;
        }
      }
      if (this.isClosed) throw new Error(`socket closed before ${cmd}; got ${this.received.map((p) => p.cmd).join(',') || 'nothing'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${cmd} within ${timeoutMs} ms; got ${this.received.map((p) => p.cmd).join(',') || 'nothing'}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves true when the broker closed the connection within timeoutMs, false otherwise. */
  async closedWithin(timeoutMs = 3000): Promise<boolean> {
    if (this.isClosed) return true;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.closedPromise.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return result;
  }

  /** Packets received within the next ms (consumed). */
  async drainFor(ms: number): Promise<Packet[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.received.splice(0);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
