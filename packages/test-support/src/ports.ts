/**
 * Free ports, and starting something on them. A free port is found by listening on port 0,
 * reading the port and closing; another process (4 engineers' test runs share a CI machine) may
 * take it before our child binds it. `onFreshPorts` retries a start that failed because of that
 * (the child exited before ready with "address already in use" in its output, an
 * `ExitedBeforeReadyError` with `portClash`), on newly picked ports.
 */
import { createServer } from 'node:net';
import { ExitedBeforeReadyError } from './ready.js';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
  return address.port;
}

/** `count` distinct free ports. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort(host);
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/**
 * Runs `start` (which must pick its own fresh ports each call) and retries it, up to `attempts`
 * times in all, while it fails with a port clash. Any other failure is thrown at once.
 */
export async function onFreshPorts<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts || !(error instanceof ExitedBeforeReadyError) || !error.portClash) throw error;
    }
  }
}
