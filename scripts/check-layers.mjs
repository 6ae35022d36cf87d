// Enforces the dependency direction of the architecture (docs/architecture.md):
//   codec <- topics <- core <- (store-memory, auth, transport, cluster-redis, admin-api) <- broker
// and gives each outside system one home: sockets only in transport, ioredis only in
// cluster-redis, gRPC only in admin-api, prom-client/pino only in the service. Fails lint when a
// package's src/ imports something on its list below.
// packages/test-support is a leaf for tests: its src/ imports only node: built-ins and itself, and
// production code never imports it: only test/, a package's src/testing/ entry point and
// load-tests may.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder } from './files-under.mjs';

const root = new URL('..', import.meta.url).pathname;
const forbidden = {
  'packages/mqtt-codec': ['@mqtt-broker/', 'node:net', 'node:tls', 'ws', 'ioredis', 'prom-client', 'pino'],
  'packages/mqttsn-codec': ['@mqtt-broker/', 'node:net', 'node:tls', 'node:dgram', 'ws', 'ioredis', 'prom-client', 'pino'],
  'packages/topics': ['@mqtt-broker/core', '@mqtt-broker/transport', 'node:net', 'ws', 'ioredis', 'prom-client', 'pino'],
  'packages/core': ['@mqtt-broker/store-memory', '@mqtt-broker/transport', '@mqtt-broker/auth', 'node:net', 'node:tls', 'node:http', 'ws', 'ioredis', 'prom-client', 'pino'],
  'packages/store-memory': ['@mqtt-broker/transport', 'node:net', 'ws', 'ioredis', 'prom-client', 'pino'],
  'packages/auth': ['@mqtt-broker/transport', 'node:net', 'ws', 'ioredis', 'prom-client', 'pino'],
  'packages/transport': ['@mqtt-broker/store-memory', 'ioredis', 'prom-client', 'pino'],
  'packages/cluster-redis': ['@mqtt-broker/store-memory', '@mqtt-broker/transport', '@mqtt-broker/admin-api', 'ws', '@grpc/grpc-js', 'prom-client', 'pino'],
  'packages/admin-api': ['@mqtt-broker/store-memory', '@mqtt-broker/transport', '@mqtt-broker/cluster-redis', 'ioredis', 'prom-client', 'pino'],
  'services/broker': ['ioredis'],
  'load-tests': [],
};
const TEST_SUPPORT = '@mqtt-broker/test-support';

const sources = (dir) => filesUnder(dir, (name) => name.endsWith('.ts'));

const importRe = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
let failures = 0;
for (const [pkg, banned] of Object.entries(forbidden)) {
  for (const file of sources(join(root, pkg, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const testingEntry = file.includes('/src/testing/');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      const rules = pkg === 'load-tests' || testingEntry ? banned : [...banned, TEST_SUPPORT];
      const hit = rules.find((b) => spec === b || spec.startsWith(b.endsWith('/') ? b : `${b}/`));
      if (hit) {
        console.error(`${file.slice(root.length)}: imports '${spec}', which ${pkg} must not depend on`);
        failures++;
      }
    }
  }
}
for (const file of sources(join(root, 'packages/test-support', 'src'))) {
  for (const m of readFileSync(file, 'utf8').matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('node:') && !spec.startsWith('./')) {
      console.error(`${file.slice(root.length)}: imports '${spec}'; test-support may import only node: built-ins and its own files`);
      failures++;
    }
  }
}
if (failures > 0) process.exit(1);
