// Every file below `dir` (recursively) whose name passes `accept`; a missing directory has none.
// Used by check-layers.mjs (sources) and run-tests.mjs (compiled test files).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function filesUnder(dir, accept, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) filesUnder(path, accept, out);
    else if (accept(name)) out.push(path);
  }
  return out;
}
