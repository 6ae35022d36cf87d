#!/usr/bin/env node
// The `mqttctl` command (package.json bin). The logic is runMqttctl in cli.ts.
import { runMqttctl } from './cli.js';

process.exitCode = await runMqttctl(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
