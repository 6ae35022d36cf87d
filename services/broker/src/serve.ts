/**
 * The long-running `mqtt-broker` command: start the node, then live by signals.
 * SIGHUP re-reads PASSWORD_FILE and ACL_FILE; SIGTERM/SIGINT drain and stop (a second one
 * stops at once). Resolves with the process exit code; only main.ts exits.
 */
import { pino } from 'pino';
import { AuthFileError } from './auth-setup.js';
import type { BrokerConfig } from './config.js';
import { type RunningNode, StartupError, startNode } from './node.js';

export async function serve(config: BrokerConfig, stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  const log = pino({ level: config.logLevel, base: { node: config.nodeId }, timestamp: pino.stdTimeFunctions.isoTime });
  let node: RunningNode;
  try {
    node = await startNode(config, log);
  } catch (err) {
    if (err instanceof StartupError || err instanceof AuthFileError) {
      stderr.write(`${err.message}\n`);
      return 1;
    }
    log.fatal({ err }, 'start failed');
    stderr.write(`start failed: ${(err as Error).message}\n`);
    return 1;
  }
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal during shutdown: stopping now');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ event: 'signal', signal }, `${signal}: shutting down`);
      node.shutdown().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => {
      log.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: reloading password and ACL files');
      void node.reloadAuth();
    });
  });
}
