export { freePort, type RunningRedis, type RunningRedisCluster, redisCli, startRedis, startRedisCluster } from './redis-server.js';
