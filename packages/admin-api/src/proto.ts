/**
 * Loads proto/admin.proto at runtime with @grpc/proto-loader (no code generation step). The
 * .proto ships with the package and is found relative to the package root, which is two levels
 * up from both src/ and dist/src/. Field names are camelCase, 64-bit integers plain numbers
 * (every value here fits in 2^53), bytes Buffers, and missing fields get their defaults.
 */
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition, type Options } from '@grpc/proto-loader';

export const ADMIN_PROTO_PATH = fileURLToPath(new URL('../../proto/admin.proto', import.meta.url));
export const ADMIN_SERVICE_NAME = 'mqttbroker.admin.v1.Admin';

export const PROTO_LOADER_OPTIONS: Options = { keepCase: false, longs: Number, enums: String, bytes: Buffer, defaults: true, oneofs: false };

/** The Admin service's methods by name, as @grpc/proto-loader describes them. */
export type AdminServiceDefinition = Record<string, MethodDefinition<object, object>>;

let cached: AdminServiceDefinition | undefined;

export function loadAdminService(): AdminServiceDefinition {
  if (cached !== undefined) return cached;
  const definition = loadSync(ADMIN_PROTO_PATH, PROTO_LOADER_OPTIONS);
  const service = definition[ADMIN_SERVICE_NAME];
  if (service === undefined || 'format' in service) throw new Error(`${ADMIN_SERVICE_NAME} missing from ${ADMIN_PROTO_PATH}`);
  cached = service as AdminServiceDefinition;
  return cached;
}
