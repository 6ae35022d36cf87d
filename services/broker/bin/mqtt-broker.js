#!/usr/bin/env node
// The installed `mqtt-broker` command. It is committed (not only built into dist/) so that `npm ci`
// links it into node_modules/.bin before anything is built: npm skips a bin whose file is missing,
// and `npx mqtt-broker` then looks for a package of that name on the registry.
import { existsSync } from 'node:fs';

const built = new URL('../dist/src/main.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('mqtt-broker is not built yet: run `npm run build` (or `npm start`) in the repository first\n');
  process.exit(1);
}
await import(built.href);
