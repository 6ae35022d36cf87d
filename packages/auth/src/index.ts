export { Acl, AclAccess, type AclAccessValue, AclParseError, type AclRule, loadAclFile } from './acl.js';
export {
  type AuthChainOptions,
  type AuthMethod,
  type AuthRefusal,
  createAuthChain,
  type MethodDecision,
  type MethodRefusal,
} from './auth-method.js';
export { createFileAuthenticator, type FileAuthenticatorOptions } from './authenticator.js';
export { createAclAuthorizer } from './authorizer.js';
export { CERTIFICATE_IDENTITIES, type CertificateIdentity, certificateName, createCertificateMethod } from './certificate-method.js';
export { claimAclAttributes, ownAcl } from './claim-acl.js';
export { covers, meet } from './filter-algebra.js';
export { AnswerCache } from './answer-cache.js';
export { createHttpAuthorizer, type HttpAuthorizerOptions } from './http-authorizer.js';
export { type HookFailure, type HookOutcome, type HookVerdict, HttpHook, type HttpHookOptions } from './http-hook.js';
export { createHttpMethod, HTTP_FAIL_MODES, type HttpFailMode, type HttpMethodOptions } from './http-method.js';
export { JwksCache, type JwksCacheOptions, JwksUnavailableError } from './jwks-cache.js';
export { ASYMMETRIC_ALGORITHMS, JWT_ALGORITHMS, type JwtAlgorithm, JwtKeyFileError, type JwtKeys, loadJwtKeyFile, parseJwtKeys } from './jwt-keys.js';
export { createJwtMethod, JWT_AUTH_METHOD, type JwtMethodOptions, looksLikeJwt } from './jwt-method.js';
export { loadPasswordFile, PasswordFile, type PasswordFileOptions } from './password-file.js';
export {
  DEFAULT_ITERATIONS,
  formatPasswordHash,
  hashPassword,
  type PasswordHash,
  parsePasswordHash,
  verifyPasswordHash,
} from './password-hash.js';
export { createPasswordFileMethod } from './password-method.js';
export { deletePasswordEntry, type WritePasswordOptions, writePasswordEntry } from './password-write.js';
