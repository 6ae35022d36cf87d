// The real-Redis test harness lives in @mqtt-broker/test-support (one place for free ports,
// readiness waits and port-clash retries); re-exported here so `@mqtt-broker/cluster-redis/testing`
// keeps working for this package's tests and the service's cluster tests.
export { freePort, type RunningRedis, type RunningRedisCluster, redisCli, startRedis, startRedisCluster } from '@mqtt-broker/test-support';
