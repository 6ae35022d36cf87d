export { BenchClient, BenchClientError, type BenchClientOptions, findU16Property } from './bench-client.js';
export { type ByteLink, type LinkTarget, openLink, TRANSPORTS, type Transport, WS_PATH } from './bench-link.js';
export {
  BROKERS,
  type BrokerConfig,
  type BrokerName,
  brokerAvailable,
  brokerUnavailable,
  DEFAULT_BROKER_CONFIG,
  freePort,
  killAllBrokers,
  mosquittoConf,
  type RunningBroker,
  servesTransport,
  startBroker,
  WS_BROKERS,
} from './brokers.js';
export { describeResult } from './format.js';
export { FrameError, type FrameHandler, FrameScanner, publishPacketId, publishPayloadOffset } from './frame-scanner.js';
export {
  DISCONNECT,
  encodeConnect,
  encodePuback,
  encodePubcomp,
  encodePublish,
  encodePublishRing,
  encodePubrec,
  encodePubrel,
  encodeSubscribe,
  PacketType,
  PINGREQ,
  type ConnectOptions,
  type ProtocolVersion,
  type PublishTemplate,
} from './packets.js';
export { clockTicksPerSecond, cpuSeconds, processAlive, rssBytes } from './proc-stats.js';
export { runScenario } from './scenarios/run.js';
export {
  DEFAULT_OPTIONS,
  type IdleSummary,
  type LatencySummary,
  type Mode,
  SCENARIOS,
  type ScenarioName,
  type ScenarioOptions,
  type ScenarioResult,
  THROUGHPUT_SCENARIOS,
} from './scenarios/types.js';
export { detectCollapse, median, percentile } from './stats.js';
export { type CellSummary, ratio, renderTable, summarize } from './summary.js';
