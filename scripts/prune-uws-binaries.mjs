// Run in the image's build stage (deploy/Dockerfile): each uWebSockets.js package ships a native
// binary for every platform and Node ABI (~100 MB each); keep only the one this Node.js loads
// (uws_<platform>_<arch>_<abi>.node) and remove a package left with none (the Node 20-only build
// on a Node 24 image), so the image carries a few MB instead of ~230.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const keep = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
const packages = ['node_modules/@btc-vision/uwebsockets.js', 'node_modules/@trufflesuite/uws-js-unofficial'];

function binaries(dir) {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /(^|\/)uws_.*\.node$/.test(f));
}

for (const pkg of packages) {
  if (!existsSync(pkg)) continue;
  const all = binaries(pkg);
  for (const f of all) if (!f.endsWith(keep)) rmSync(join(pkg, f));
  const kept = all.filter((f) => f.endsWith(keep));
  if (kept.length === 0) rmSync(pkg, { recursive: true });
  console.log(`${pkg}: ${kept.length > 0 ? `kept ${kept.join(', ')}` : 'no binary for this Node.js: removed'}`);
}
