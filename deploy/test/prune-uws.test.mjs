// scripts/prune-uws-binaries.mjs, run by the image build: keeps only the uWS binary this Node.js
// loads and removes a uWS package left with none.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../testing/chart.mjs';

test('keeps uws_<platform>_<arch>_<this ABI>.node, deletes the others, removes a package with none left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prune-uws-'));
  try {
    const mine = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
    const btc = join(dir, 'node_modules/@btc-vision/uwebsockets.js');
    const truffle = join(dir, 'node_modules/@trufflesuite/uws-js-unofficial/binaries');
    mkdirSync(btc, { recursive: true });
    mkdirSync(truffle, { recursive: true });
    for (const f of [mine, 'uws_darwin_arm64_137.node', 'uws_win32_x64_127.node', 'uws.js']) writeFileSync(join(btc, f), 'x');
    writeFileSync(join(truffle, 'uws_linux_x64_1.node'), 'x');
    execFileSync(process.execPath, [join(ROOT, 'scripts/prune-uws-binaries.mjs')], { cwd: dir, stdio: 'ignore' });
    assert.ok(existsSync(join(btc, mine)), 'the binary this Node.js loads');
    assert.ok(existsSync(join(btc, 'uws.js')), 'non-binary files stay');
    assert.ok(!existsSync(join(btc, 'uws_darwin_arm64_137.node')) && !existsSync(join(btc, 'uws_win32_x64_127.node')));
    assert.ok(!existsSync(join(dir, 'node_modules/@trufflesuite/uws-js-unofficial')), 'no binary for this Node.js: package removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
