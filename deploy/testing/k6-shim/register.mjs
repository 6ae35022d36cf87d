// Registers resolve hooks mapping k6's built-in modules to the Node shims of this folder
// (used with `node --import`), so the k6 scripts can run under Node in tests.
import { register } from 'node:module';

register(new URL('./hooks.mjs', import.meta.url));
