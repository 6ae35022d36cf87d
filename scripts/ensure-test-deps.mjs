// The test suite drives real programs: Debian's mosquitto (reference broker and mosquitto_passwd),
// mosquitto-clients (interop), redis-server (cluster tests), haproxy (config check) and openssl
// (test certificates). On a fresh Debian machine run as root (CI), install what is missing with
// apt-get; elsewhere, say exactly what to install and fail.
import { execFileSync, spawnSync } from 'node:child_process';

const needed = {
  mosquitto: 'mosquitto',
  mosquitto_pub: 'mosquitto-clients',
  mosquitto_sub: 'mosquitto-clients',
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  haproxy: 'haproxy',
  openssl: 'openssl',
  taskset: 'util-linux',
};

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = [...new Set(Object.entries(needed).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg))];
if (missing.length === 0) process.exit(0);

const isRoot = process.getuid?.() === 0;
if (!isRoot || !has('apt-get')) {
  console.error(`tests need these Debian packages: ${missing.join(' ')}\n  sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.error(`installing test dependencies: ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
// Debian's packages may start their daemons; the tests start their own on free ports and the broker
// wants 1883, so stop any system instance.
spawnSync('sh', ['-c', 'service mosquitto stop; service redis-server stop; service haproxy stop'], { stdio: 'ignore' });
