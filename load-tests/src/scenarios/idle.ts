// idle: open K connections (CONNECT/CONNACK, then silence) as fast as the broker accepts them,
// with at most `connectConcurrency` handshakes outstanding, and report the connect rate and the
// broker's memory per connection: (VmRSS after all are connected and settled - VmRSS before) / K.
// Keep alive is 0 so that no PINGREQ is needed while they sit idle.

import { BenchClient } from '../bench-client.js';
import { processAlive, rssBytes } from '../proc-stats.js';
import { emptyResult, type ScenarioOptions, type ScenarioResult } from './types.js';

const SETTLE_MS = 1_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runIdle(o: ScenarioOptions): Promise<ScenarioResult> {
  const result = emptyResult('idle', null);
  const pid = o.brokerPid;
  const rssBefore = pid === undefined ? undefined : rssBytes(pid);
  const clients: BenchClient[] = [];
  let failed = 0;
  let next = 0;
  const firstErrors = new Set<string>();
  const deadline = Date.now() + Math.max(30_000, o.durationS * 4_000);
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < o.connections && Date.now() < deadline) {
      const i = next++;
      try {
        clients.push(
          await BenchClient.connect(
            { host: o.host, port: o.port, clientId: `${o.clientPrefix}-idle-${i}`, version: o.version },
            10_000,
          ),
        );
      } catch (err) {
        failed++;
        if (firstErrors.size < 3) firstErrors.add((err as Error).message);
        if (pid !== undefined && !processAlive(pid)) return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.connectConcurrency, o.connections) }, worker));
  const rampS = (performance.now() - t0) / 1000;
  await sleep(SETTLE_MS);
  const alive = clients.filter((c) => !c.closed).length;
  const rssAfter = pid === undefined ? undefined : rssBytes(pid);
  result.crashed = pid !== undefined && rssAfter === undefined;
  result.errors.push(...firstErrors);
  if (result.crashed) result.errors.unshift('broker process exited');
  if (alive < clients.length) result.errors.push(`${clients.length - alive} connections closed while idle`);
  result.measuredS = rampS;
  result.idle = {
    requested: o.connections,
    connected: alive,
    failed,
    connectRate: rampS > 0 ? clients.length / rampS : 0,
    bytesPerConnection:
      rssBefore !== undefined && rssAfter !== undefined && alive > 0 ? (rssAfter - rssBefore) / alive : null,
    rssBeforeBytes: rssBefore ?? null,
    rssAfterBytes: rssAfter ?? null,
  };
  for (const c of clients) c.destroy();
  return result;
}
