/**
 * Finds a uWebSockets.js build that loads in this process. Its authors do not publish it on the
 * npm registry; two third-party builds are optional dependencies of this package, tried in order:
 * - `@btc-vision/uwebsockets.js` (v20.57): binaries for Node 20, 22, 24, 25, linked against
 *   glibc 2.38 (Debian 13, Ubuntu 24.04; the container image);
 * - `@trufflesuite/uws-js-unofficial` (v20.30): binaries for Node ABIs 93, 108, 115 (Node 16,
 *   18, 20), glibc 2.27. Its entry point silently falls back to a JavaScript imitation when the
 *   binary does not load, so the binary itself is required here.
 * Either may be missing (optional dependencies, pruned image) or fail to load (glibc, ABI).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { UwsModule } from './uws-types.js';

export interface UwsBuild {
  /** npm package and version it came from, e.g. '@btc-vision/uwebsockets.js@20.57.0'. */
  readonly name: string;
  readonly module: UwsModule;
}

export interface UwsLoadResult {
  /** The first build that loaded, if any. */
  readonly build?: UwsBuild;
  /** Why each build tried before it (or every build) did not load, one line each. */
  readonly failures: readonly string[];
}

const require = createRequire(import.meta.url);
const binaryName = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

interface Candidate {
  readonly pkg: string;
  /** Path of the native binary to require, relative to the package directory. */
  readonly binary: string;
}

const CANDIDATES: readonly Candidate[] = [
  { pkg: '@btc-vision/uwebsockets.js', binary: binaryName },
  { pkg: '@trufflesuite/uws-js-unofficial', binary: join('binaries', binaryName) },
];

function lastLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .at(-1) ?? text
  );
}

function tryLoad(candidate: Candidate): UwsBuild | string {
  // Found by hand: an `exports` map may hide package.json from require.resolve.
  const dir = (require.resolve.paths(candidate.pkg) ?? []).map((p) => join(p, candidate.pkg)).find((d) => existsSync(join(d, 'package.json')));
  if (dir === undefined) return `${candidate.pkg}: not installed`;
  const { version } = require(join(dir, 'package.json')) as { version: string };
  const path = join(dir, candidate.binary);
  if (!existsSync(path)) return `${candidate.pkg}@${version}: no binary for ${process.platform}-${process.arch} Node.js ${process.versions.node} (ABI ${process.versions.modules})`;
  try {
    return { name: `${candidate.pkg}@${version}`, module: require(path) as UwsModule };
  } catch (err) {
    return `${candidate.pkg}@${version}: ${lastLine(err)}`;
  }
}

let cached: UwsLoadResult | undefined;

/** Load once per process (a native module cannot be unloaded). */
export function loadUws(): UwsLoadResult {
  if (cached !== undefined) return cached;
  const failures: string[] = [];
  for (const candidate of CANDIDATES) {
    const result = tryLoad(candidate);
    if (typeof result === 'string') {
      failures.push(result);
      continue;
    }
    cached = { build: result, failures };
    return cached;
  }
  cached = { failures };
  return cached;
}
