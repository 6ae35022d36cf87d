export { Acl, AclAccess, type AclAccessValue, AclParseError, type AclRule, loadAclFile } from './acl.js';
export { createFileAuthenticator, type FileAuthenticatorOptions } from './authenticator.js';
export { createAclAuthorizer } from './authorizer.js';
export { covers, meet } from './filter-algebra.js';
export { loadPasswordFile, PasswordFile, type PasswordFileOptions } from './password-file.js';
export {
  DEFAULT_ITERATIONS,
  formatPasswordHash,
  hashPassword,
  type PasswordHash,
  parsePasswordHash,
  verifyPasswordHash,
} from './password-hash.js';
export { deletePasswordEntry, type WritePasswordOptions, writePasswordEntry } from './password-write.js';
