// From the measured per-node figures (capacity-measure.ts) to a fleet: nodes, Redis (Cluster)
// size and network for 1M, 10M and 100M devices under a stated workload. Everything here is
// arithmetic on the measurements plus the stated assumptions; docs/capacity.md says which parts
// are extrapolated. The workload is an object so other assumptions can be plugged in.

import type { CapacityMeasurements } from './capacity-measure.js';

export interface Workload {
  devices: number[];
  /** Telemetry: QoS 1 messages per device per minute, to dev/<id>/telemetry, read by backend consumers (fan-in). */
  telemetryPerMin: number;
  /** Commands: QoS 1 messages per device per hour, from the backend to dev/<id>/cmd. */
  commandsPerHour: number;
  /** Share of devices also subscribed to a group broadcast topic (QoS 0). */
  fanoutShare: number;
  groupSize: number;
  broadcastsPerGroupPerMin: number;
  /** PINGREQ/PINGRESP every keepalive when otherwise silent. */
  keepaliveS: number;
  /** Reconnects per device per day (network changes, restarts). */
  reconnectsPerDay: number;
  payloadBytes: number;
  topicBytes: number;
  /** Connections one node is sized for (memory, connect storms after a failure). */
  connectionsPerNode: number;
  /** Share of one core a node may use at the stated load (headroom for storms, restarts, GC). */
  cpuTarget: number;
  /** Redis shard: share of the measured ceiling used, and memory per shard (GB). */
  redisOpsShare: number;
  redisShardMemGB: number;
}

export const DEFAULT_WORKLOAD: Workload = {
  devices: [1e6, 1e7, 1e8],
  telemetryPerMin: 1,
  commandsPerHour: 1,
  fanoutShare: 0.1,
  groupSize: 1_000,
  broadcastsPerGroupPerMin: 1,
  keepaliveS: 60,
  reconnectsPerDay: 1,
  payloadBytes: 100,
  topicBytes: 30,
  connectionsPerNode: 100_000,
  cpuTarget: 0.5,
  redisOpsShare: 0.5,
  redisShardMemGB: 25,
};

/** TCP/IPv4 header bytes per segment on the wire (no batching at one message per device per minute). */
const WIRE_OVERHEAD = 66;

export interface Sizing {
  devices: number;
  telemetryPerS: number;
  deliveriesPerS: number;
  nodes: number;
  nodesBy: 'connections' | 'cpu';
  clusterCores: number;
  nodeMemGB: number;
  replicaGB: number;
  /** Transient on top of nodeMemGB while a node resyncs its routes (0 when not measured). */
  resyncGB: number;
  redisGB: number;
  routesSlotGB: number;
  routeChangeMBs: number;
  redisOpsPerS: number;
  redisShards: number;
  redisMbitS: number;
  clientMbitS: number;
  breaks: string[];
}

export function size(m: CapacityMeasurements, w: Workload, devices: number): Sizing {
  const s = m.standalone;
  const c = m.cluster;
  const at = (qos: 0 | 1 | 2) => {
    const points = s.cpu.filter((p) => p.qos === qos && p.coresPer1k !== null);
    // the lowest measured rate: the highest cost per message (fixed costs amortize less)
    return points.sort((a, b) => a.targetRate - b.targetRate)[0]?.coresPer1k ?? 0.05;
  };
  const x1 = c.cross.find((p) => p.qos === 1)!;
  const x0 = c.cross.find((p) => p.qos === 0)!;
  const telemetry = (devices * w.telemetryPerMin) / 60;
  const commands = (devices * w.commandsPerHour) / 3600;
  const groups = (devices * w.fanoutShare) / w.groupSize;
  const broadcastDeliveries = (devices * w.fanoutShare * w.broadcastsPerGroupPerMin) / 60;
  const pings = devices / w.keepaliveS; // an upper bound: devices that published within keepalive do not ping
  const connects = (devices * w.reconnectsPerDay) / 86_400;
  // cluster-wide CPU: a cross-node QoS 1 message costs the publishing and the subscribing node;
  // a broadcast delivery is counted as half a standalone QoS 0 message (out only); a ping as one
  const q1Cross = x1.coresPer1kA + x1.coresPer1kB;
  const cores = ((telemetry + commands) * q1Cross + broadcastDeliveries * (at(0) / 2) + pings * at(0)) / 1000;
  const byConn = Math.ceil(devices / w.connectionsPerNode);
  const byCpu = Math.ceil(cores / w.cpuTarget);
  const nodes = Math.max(byConn, byCpu) + 1; // +1: a node out for a rolling restart or a failure
  // distinct filters: dev/<id>/cmd per device, plus one per group
  const filters = devices + groups;
  const replicaGB = (filters / 100_000) * (c.peerRssPer100kFilters / 1e9);
  const perNodeConnGB = ((devices / (nodes - 1)) * c.rssPerConnection) / 1e9;
  // a node's own devices' subscriptions cost more than their replica entry (sessions, local trie)
  const localGB = (filters / (nodes - 1) / 100_000) * (Math.max(0, c.subscriberRssPer100kFilters - c.peerRssPer100kFilters) / 1e9);
  const nodeMemGB = perNodeConnGB + localGB + replicaGB;
  const routesSlotGB = (filters / 100_000) * (c.redisBytesPer100kFilters / 1e9);
  const redisGB = (devices * c.redisBytesPerConnection) / 1e9 + routesSlotGB;
  // broadcasts cross as one message per destination node with members
  const broadcastForwards = (groups * Math.min(nodes, w.groupSize) * w.broadcastsPerGroupPerMin) / 60;
  const redisOps = (telemetry + commands) * x1.redisCommandsPerMsg + broadcastForwards * x0.redisCommandsPerMsg + connects * c.redisCommandsPerConnect;
  const ceiling = (c.redisBenchmarkOpsPerS ?? 80_000) * w.redisOpsShare;
  const redisShards = Math.max(1, Math.ceil(redisOps / ceiling), Math.ceil(redisGB / w.redisShardMemGB));
  const redisMbitS = (((telemetry + commands) * x1.redisBytesPerMsg + broadcastForwards * x0.redisBytesPerMsg) * 8) / 1e6;
  const publishFrame = 2 + 2 + w.topicBytes + 2 + w.payloadBytes + WIRE_OVERHEAD;
  const ackFrame = 4 + WIRE_OVERHEAD;
  const pingBytes = 2 * (2 + WIRE_OVERHEAD);
  // per device: telemetry in + PUBACK out, commands out + PUBACK in, broadcasts out, pings
  const clientBytesPerS = (telemetry + commands) * (publishFrame + ackFrame) * 2 + broadcastDeliveries * publishFrame + pings * pingBytes;
  // unmeasured, worst case: every reconnect of a clean-session device removes and re-adds its
  // route (2 entries of the {routes} change stream, ~80 B each as read), and every node reads every entry
  const routeChangeMBs = (2 * connects * nodes * 80) / 1e6;
  const resyncGB = ((c.resyncPeakBytesPerRoute ?? 0) * filters) / 1e9;
  const breaks: string[] = [];
  if (resyncGB > 0 && nodeMemGB <= 4 && nodeMemGB + resyncGB > 4) {
    breaks.push(`a route resync (watcher behind the trimmed change stream, Redis restart) needs ${resyncGB.toFixed(1)} GB on top of ${nodeMemGB.toFixed(1)} GB per node (over a 4 GB V8 heap)`);
  }
  // V8's 2^24-entry Map limit no longer applies: the route replica keeps every Map below 2^23
  // entries (SplitMap, @mqtt-broker/topics)
  if (nodeMemGB > 4) breaks.push(`${nodeMemGB.toFixed(1)} GB per node, ${replicaGB.toFixed(1)} GB of it the route replica every node holds (over a 4 GB V8 heap)`);
  if (routeChangeMBs > 100) breaks.push(`route change fan-out ${routeChangeMBs.toFixed(0)} MB/s out of the one shard holding {routes} (unmeasured worst case)`);
  if (routesSlotGB > w.redisShardMemGB) breaks.push(`{routes} hash ${routesSlotGB.toFixed(1)} GB in one Redis Cluster slot`);
  return {
    devices,
    telemetryPerS: telemetry,
    deliveriesPerS: telemetry + commands + broadcastDeliveries,
    nodes,
    nodesBy: byCpu > byConn ? 'cpu' : 'connections',
    clusterCores: cores,
    nodeMemGB,
    replicaGB,
    resyncGB,
    redisGB,
    routesSlotGB,
    routeChangeMBs,
    redisOpsPerS: redisOps,
    redisShards,
    redisMbitS,
    clientMbitS: (clientBytesPerS * 8) / 1e6,
    breaks,
  };
}

const n = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
const mib = (b: number): string => `${(b / 1048576).toFixed(0)} MiB`;

export function renderCapacity(m: CapacityMeasurements, w: Workload): string {
  const s = m.standalone;
  const c = m.cluster;
  const lines: string[] = [];
  lines.push(`## Measured (${m.machine.cores} x ${m.machine.cpus}, Node ${m.machine.node}, ${m.machine.date.slice(0, 10)})`, '');
  lines.push('| figure | standalone node | cluster node (2 nodes + Redis) |', '| --- | --- | --- |');
  lines.push(`| RSS per idle connection (${n(s.idleConnections)} connections) | ${kib(s.rssPerConnection)} | ${kib(c.rssPerConnection)} node + ${n(c.redisBytesPerConnection)} B Redis, ${c.redisCommandsPerConnect.toFixed(1)} Redis commands per connect |`);
  lines.push(`| RSS per 100k filters (${n(s.filters)} distinct, 20% with '+') | ${mib(s.rssPer100kFilters)} | ${mib(c.subscriberRssPer100kFilters)} subscribing node, ${mib(c.peerRssPer100kFilters)} every other node (route replica), ${mib(c.redisBytesPer100kFilters)} Redis |`);
  for (const p of s.cpu) {
    lines.push(`| QoS ${p.qos}, ${n(p.targetRate)} msg/s (10 publishers -> 1 subscriber): cores per 1,000 msg/s | ${p.coresPer1k?.toFixed(4) ?? 'n/a'} (achieved ${n(p.achievedRate)} msg/s, p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms) | |`);
  }
  for (const p of c.cross) {
    lines.push(`| QoS ${p.qos} across nodes, ${n(p.rate)} msg/s: cores per 1,000 msg/s | | A ${p.coresPer1kA.toFixed(4)} + B ${p.coresPer1kB.toFixed(4)}; Redis ${p.redisCommandsPerMsg.toFixed(2)} commands and ${n(p.redisBytesPerMsg)} B per forwarded message; p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms |`);
  }
  lines.push(`| redis-benchmark HSET, 50 clients | | ${c.redisBenchmarkOpsPerS === null ? 'n/a' : `${n(c.redisBenchmarkOpsPerS)} ops/s`} |`, '');
  lines.push('## Derived sizing', '');
  lines.push('| devices | telemetry msg/s | deliveries/s | cluster CPU (cores) | broker nodes | memory per node (of which route replica) | Redis memory (of which {routes} slot) | Redis ops/s | Redis shards | Redis traffic | client traffic |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const sized = w.devices.map((d) => size(m, w, d));
  for (const z of sized) {
    lines.push(
      `| ${n(z.devices / 1e6)}M | ${n(z.telemetryPerS)} | ${n(z.deliveriesPerS)} | ${n(z.clusterCores, 1)} | ${n(z.nodes)} (by ${z.nodesBy}) | ${z.nodeMemGB.toFixed(1)} GB (${z.replicaGB.toFixed(1)}) | ${z.redisGB.toFixed(1)} GB (${z.routesSlotGB.toFixed(1)}) | ${n(z.redisOpsPerS)} | ${n(z.redisShards)} | ${n(z.redisMbitS)} Mbit/s | ${n(z.clientMbitS)} Mbit/s |`,
    );
  }
  lines.push('', '## What breaks', '');
  for (const z of sized) lines.push(`- ${n(z.devices / 1e6)}M devices: ${z.breaks.length === 0 ? 'nothing in this model' : z.breaks.join('; ')}`);
  const first = firstBreak(m, w);
  if (first !== null) lines.push(`- first limit reached, raising the device count in steps of 100k: at ${n(first.devices / 1e6, 1)}M devices, ${first.breaks[0]}`);
  lines.push('');
  return lines.join('\n');
}

/** The smallest device count (100k steps, up to 200M) at which the model reports a limit. */
export function firstBreak(m: CapacityMeasurements, w: Workload): Sizing | null {
  for (let d = 100_000; d <= 200_000_000; d += 100_000) {
    const z = size(m, w, d);
    if (z.breaks.length > 0) return z;
  }
  return null;
}
