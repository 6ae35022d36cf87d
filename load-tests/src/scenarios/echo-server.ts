// The "echo" broker: the floor any broker is measured against. It answers CONNECT, SUBSCRIBE and
// PINGREQ and forwards every PUBLISH frame's bytes unchanged to every subscribed connection, with
// no topic matching, no state and no acknowledgements (QoS 0 only). What the generator measures
// against it is the generator itself, Node's socket I/O and this machine's scheduling (loopback,
// cross-core wake-ups); a broker's latency above the echo's is the broker's own.
//   node load-tests/dist/src/scenarios/echo-server.js --port 1883 [--host 127.0.0.1]

import type { Socket } from 'node:net';
import { FrameScanner } from '../frame-scanner.js';
import { varintSize } from '../packets.js';
import { listenArgs, serveTcp } from '../serve-tcp.js';

const CONNACK_V4 = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const CONNACK_V5 = Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00]);
const PINGRESP = Buffer.from([0xd0, 0x00]);

async function main(): Promise<void> {
  const { port, host } = listenArgs();
  const subscribers = new Set<Socket>();
  await serveTcp(port, host, (socket) => {
    let v5 = false;
    const scanner = new FrameScanner((header, buf, start, end) => {
      switch (header >> 4) {
        case 1: // CONNECT: protocol level after the 6-byte protocol name
          v5 = buf[start + 6] === 5;
          socket.write(v5 ? CONNACK_V5 : CONNACK_V4);
          return;
        case 3: {
          // PUBLISH: the whole frame, fixed header included, goes out unchanged
          const frame = buf.subarray(start - 1 - varintSize(end - start), end);
          for (const s of subscribers) s.write(frame);
          return;
        }
        case 8: {
          // SUBSCRIBE: grant QoS 0 to each filter
          const id = buf.subarray(start, start + 2);
          let at = start + 2;
          if (v5) at += 1 + buf[at]; // short property lists only
          let n = 0;
          while (at < end) {
            at += 2 + buf.readUInt16BE(at) + 1;
            n++;
          }
          const codes = Buffer.alloc(n);
          socket.write(Buffer.concat([Buffer.from([0x90, 2 + (v5 ? 1 : 0) + n]), id, v5 ? Buffer.from([0]) : Buffer.alloc(0), codes]));
          subscribers.add(socket);
          return;
        }
        case 12:
          socket.write(PINGRESP);
          return;
        case 14:
          socket.end();
          return;
        default:
      }
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        scanner.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.once('close', () => subscribers.delete(socket));
  });
}

await main();
