// Runs a k6 script's scenario functions under Node with the shims, then prints k6-like summary
// data (and the script's handleSummary stdout) as JSON on the last line.
//   node --import ./register.mjs run.mjs SCRIPT FUNC:VUS[@START_MS] ...
import { pathToFileURL } from 'node:url';
import exec from './execution.mjs';
import { summary } from './metrics.mjs';

globalThis.__ENV = { ...process.env };
const [script, ...specs] = process.argv.slice(2);
const mod = await import(pathToFileURL(script).href);
exec.scenario.startTime = Date.now();
let nextVu = 1;
for (const spec of specs) {
  const m = spec.match(/^(\w+):(\d+)(?:@(\d+))?$/);
  if (!m) throw new Error(`bad scenario spec ${spec}`);
  const [, fn, vus, start] = m;
  const startVus = () => {
    for (let i = 0; i < Number(vus); i++) {
      globalThis.__VU = nextVu++;
      globalThis.__ITER = 0;
      mod[fn]();
    }
  };
  if (start) setTimeout(startVus, Number(start));
  else startVus();
}
process.once('beforeExit', () => {
  const data = summary();
  const out = mod.handleSummary ? mod.handleSummary(data).stdout : '';
  console.log(JSON.stringify({ data, summaryText: out }));
});
