/**
 * The `mqtt-broker` command line (commander): the default command runs a broker node configured
 * by flags and environment variables (flags win); `passwd` manages a password file.
 * `runCli` resolves with the exit code instead of exiting, so only main.ts calls process.exit.
 */
import { DEFAULT_LIMITS } from '@mqtt-broker/core';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, resolveConfig } from './config.js';
import { brokerVersion } from './node.js';
import { runPasswd } from './passwd.js';
import { serve } from './serve.js';
import { flagOf, SETTINGS } from './settings.js';

function camel(env: string): string {
  return env.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export interface CliIo {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export function buildProgram(io: CliIo, done: (code: number) => void): Command {
  const program = new Command('mqtt-broker');
  program
    .description('MQTT 3.1 / 3.1.1 / 5.0 broker node. Every option can also be set by the environment variable shown.')
    .version(brokerVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError(false);
  for (const spec of SETTINGS) {
    const limitDefault = spec.limit === undefined ? undefined : String((DEFAULT_LIMITS as unknown as Record<string, unknown>)[spec.limit]);
    const def = spec.defaultText ?? spec.default ?? limitDefault ?? 'unset';
    program.addOption(new Option(`${flagOf(spec.env)} <value>`, `${spec.description} (env ${spec.env}, default ${def})`));
  }
  program.action(async () => {
    const opts = program.opts<Record<string, string | undefined>>();
    const flags: Record<string, string | undefined> = {};
    for (const spec of SETTINGS) flags[spec.env] = opts[camel(spec.env)];
    let config: ReturnType<typeof resolveConfig>;
    try {
      config = resolveConfig(io.env, flags);
    } catch (err) {
      if (err instanceof ConfigError) {
        io.stderr.write(`${err.message}\n`);
        done(2);
        return;
      }
      throw err;
    }
    done(await serve(config, io.stderr));
  });
  program
    .command('passwd')
    .description('add or change a user in a mosquitto_passwd-format password file (created if missing)')
    .option('-b, --batch', 'take the password from the command line (FILE USER PASSWORD)')
    .argument('<file>', 'password file')
    .argument('<user>', 'user name')
    .argument('[password]', 'password, with -b only')
    .action(async (file: string, user: string, password: string | undefined, options: { batch?: boolean }) => {
      done(await runPasswd(file, user, password, options.batch === true, { stdin: io.stdin, stderr: io.stderr }));
    });
  return program;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return code;
}
