/**
 * What native callbacks deliver one at a time during one poll of the event loop (uWS messages,
 * UDP datagrams), handled together in one macrotask. Node runs the nextTick queue after every
 * native callback, and the connections the engine writes to flush on nextTick
 * (socket-connection.ts, ws-connection.ts): handled one by one, a subscriber of many publishers
 * got one send syscall per message (measured: fan-out to uWS WebSocket subscribers at 0.05x the
 * `ws` engine, whose socket reads hand over everything a read returned in one callback).
 */
export class PollBatch<T> {
  private items: T[] = [];

  constructor(private readonly handle: (item: T) => void) {}

  add(item: T): void {
    if (this.items.push(item) === 1) setImmediate(runBatch, this);
  }

  run(): void {
    const items = this.items;
    this.items = [];
    for (const item of items) this.handle(item);
  }
}

function runBatch<T>(batch: PollBatch<T>): void {
  batch.run();
}
