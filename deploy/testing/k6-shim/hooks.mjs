// Module resolution hooks: k6/x/mqtt, k6/metrics and k6/execution -> local shims.
const SHIMS = {
  'k6/x/mqtt': new URL('./mqtt.mjs', import.meta.url).href,
  'k6/metrics': new URL('./metrics.mjs', import.meta.url).href,
  'k6/execution': new URL('./execution.mjs', import.meta.url).href,
};

export async function resolve(specifier, context, nextResolve) {
  if (Object.hasOwn(SHIMS, specifier)) return { url: SHIMS[specifier], shortCircuit: true };
  return nextResolve(specifier, context);
}
