// MQTTSN_CLIENTS is loaded with the auth files: a line mapping a client id to a user that
// PASSWORD_FILE does not have refuses the load with a one-line error naming the line; without
// PASSWORD_FILE the mapped users are not checked. Inline comments are not user names.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writePasswordEntry } from '@mqtt-broker/auth';
import { AuthFileError, type AuthSettings, loadAuth } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mqttsn-clients-'));
const passwordFile = join(dir, 'passwd');
const clientsFile = join(dir, 'mqttsn-clients');

const settings = (extra: Partial<AuthSettings>): AuthSettings => ({
  allowAnonymous: false,
  passwordFile,
  aclFile: undefined,
  mqttsnClientsFile: clientsFile,
  ...extra,
});

describe('MQTTSN_CLIENTS against PASSWORD_FILE', () => {
  before(async () => {
    await writePasswordEntry(passwordFile, 'meters', 'secret', { iterations: 1_000 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads when every mapped user is in the password file; inline comments are ignored', async () => {
    writeFileSync(clientsFile, '# sensors\nsensor-0001   # anonymous identity\nmeter-*  meters  # all meters\n');
    const auth = await loadAuth(settings({}));
    assert.equal(auth.mqttsnClients?.lookup('sensor-0001')?.username, undefined);
    assert.equal(auth.mqttsnClients?.lookup('meter-7')?.username, 'meters');
  });

  it('refuses a mapped user missing from the password file, naming the line', async () => {
    writeFileSync(clientsFile, 'sensor-0001\nmeter-*  meters\nvalve-*  valves\n');
    await assert.rejects(loadAuth(settings({})), (err: unknown) => {
      assert.ok(err instanceof AuthFileError);
      assert.equal(err.setting, 'MQTTSN_CLIENTS');
      assert.equal(
        err.message,
        `invalid MQTTSN_CLIENTS: cannot load "${clientsFile}": line 3: user "valves" (for client id "valve-*") is not in PASSWORD_FILE`,
      );
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    });
  });

  it('does not check mapped users when no password file is set', async () => {
    writeFileSync(clientsFile, 'valve-*  valves\n');
    const auth = await loadAuth(settings({ passwordFile: undefined, allowAnonymous: true }));
    assert.equal(auth.mqttsnClients?.lookup('valve-1')?.username, 'valves');
  });
});
