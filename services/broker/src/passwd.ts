/**
 * `mqtt-broker passwd [-b] FILE USER [PASSWORD]`: add or change a user in a Mosquitto-format
 * password file (created when missing). The password comes from the command line with -b (like
 * `mosquitto_passwd -b`), from two hidden prompts on a TTY, or from the first line of stdin.
 */
import { writePasswordEntry } from '@mqtt-broker/auth';

export interface PasswdIo {
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WriteStream;
}

/** Read one line from a non-TTY stream (without the line break). */
async function readLine(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    const nl = text.indexOf('\n');
    if (nl >= 0) return text.slice(0, nl).replace(/\r$/, '');
    if (text.length > 65536) break;
  }
  return text.length > 0 ? text.replace(/\r$/, '') : undefined;
}

/** Prompt on a TTY without echoing what is typed. */
async function promptHidden(io: PasswdIo, question: string): Promise<string> {
  const { stdin, stderr } = io;
  // echo off before the prompt shows: what is typed (or pasted) the moment it appears is not echoed
  stdin.setRawMode(true);
  stderr.write(question);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: string): void => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            stderr.write('\n');
            resolve(value);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            stderr.write('\n');
            reject(new Error('interrupted'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/** Returns the exit code; errors are one line on stderr. */
export async function runPasswd(file: string, user: string, password: string | undefined, batch: boolean, io: PasswdIo): Promise<number> {
  let secret: string | undefined;
  if (batch) {
    if (password === undefined) {
      io.stderr.write('mqtt-broker passwd: -b needs FILE USER PASSWORD\n');
      return 2;
    }
    secret = password;
  } else if (password !== undefined) {
    io.stderr.write('mqtt-broker passwd: a password on the command line needs -b\n');
    return 2;
  } else if (io.stdin.isTTY) {
    const first = await promptHidden(io, 'Password: ');
    const second = await promptHidden(io, 'Reenter password: ');
    if (first !== second) {
      io.stderr.write('mqtt-broker passwd: passwords do not match\n');
      return 1;
    }
    secret = first;
  } else {
    secret = await readLine(io.stdin);
    if (secret === undefined) {
      io.stderr.write('mqtt-broker passwd: no password on stdin\n');
      return 1;
    }
  }
  if (secret.length === 0) {
    io.stderr.write('mqtt-broker passwd: empty password\n');
    return 1;
  }
  try {
    await writePasswordEntry(file, user, secret);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    io.stderr.write(`mqtt-broker passwd: ${file}: ${e.code ?? e.message}\n`);
    return 1;
  }
  return 0;
}
