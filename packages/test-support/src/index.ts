export { type CertificateOptions, makeCertificates, type TestCertificates } from './certs.js';
export { httpGet, type HttpAnswer, httpStatus, metricsText, metricValue, readyStatus } from './http.js';
export { freePort, freePorts, onFreshPorts } from './ports.js';
export { killAllProcesses, type ManagedProcess, type ProcessOptions, startProcess } from './process.js';
export { ExitedBeforeReadyError, NotReadyError, type ReadyOptions, waitReady } from './ready.js';
export { type RedisOptions, type RunningRedis, type RunningRedisCluster, redisCli, startRedis, startRedisCluster } from './redis.js';
export { tcpOpen } from './tcp.js';
export { sleep, WaitTimeoutError, waitUntil } from './wait.js';
