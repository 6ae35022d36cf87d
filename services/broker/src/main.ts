#!/usr/bin/env node
// Entry point of the `mqtt-broker` command: the only place that exits the process.
import { runCli } from './cli.js';

runCli(process.argv, { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`mqtt-broker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
