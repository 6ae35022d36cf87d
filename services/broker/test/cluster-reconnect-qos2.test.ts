/**
 * A node is killed and its persistent QoS 2 subscriber reconnects to another node at once, after
 * the heartbeat TTL, to the survivor that adopted its session or to the other one, with the
 * publisher on a third node or on the node the client moves to (issue 8; cases and assertions
 * in cluster-reconnect-cases.ts; docs/cluster.md "Node failure" quotes the repeated runs).
 */
import { after, describe, it } from 'node:test';
import { caseName, casesFor, ReconnectBench } from './cluster-reconnect-cases.js';
import { suiteSkipReason } from './helpers/processes.js';

describe('cluster: kill -9 a node, its QoS 2 client back elsewhere', { skip: suiteSkipReason(), timeout: 300_000 }, () => {
  const bench = new ReconnectBench();
  after(() => bench.close());
  for (const c of casesFor(2)) {
    it(caseName(c), async () => ReconnectBench.check(c, await bench.run(c)));
  }
});
