export { runMqttctl, type CliIo, DEFAULT_SERVER } from './cli.js';
export { AUTHORIZATION_KEY, type AuthResult, bearer, tokenChecker } from './auth.js';
export { AdminApiError, AdminClient, type AdminClientOptions } from './client.js';
export { ADMIN_PROTO_PATH, ADMIN_SERVICE_NAME, loadAdminService } from './proto.js';
export { type AdminServer, type AdminServerOptions, startAdminServer } from './server.js';
export type * from './wire.js';
