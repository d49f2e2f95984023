/**
 * The ZooKeeper super user's credentials: a random password for the cluster's Secret and the
 * digest the servers are started with (`-Dzookeeper.DigestAuthenticationProvider.superDigest=`).
 * The digest is DigestAuthenticationProvider's format, `super:base64(sha1("super:<password>"))`,
 * so the operator can authenticate for reconfig without `skipACL`. Pure apart from the random
 * bytes of `generateSuperPassword`.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SUPER_USER = 'super';

/** The JVM system property that carries the digest. */
export const SUPER_DIGEST_PROPERTY = 'zookeeper.DigestAuthenticationProvider.superDigest';

/**
 * 32 random bytes as base64url (43 characters, no `:` or whitespace): safe in a Secret, in a JVM
 * flag and in ZooKeeper's `user:password` auth string.
 */
export function generateSuperPassword(): string {
  return randomBytes(32).toString('base64url');
}

/** `super:<base64(sha1("super:<password>"))>`, the value of the superDigest property. */
export function superDigest(password: string): string {
  if (password.length === 0) throw new Error('the super user password is empty');
  const hash = createHash('sha1').update(`${SUPER_USER}:${password}`, 'utf8').digest('base64');
  return `${SUPER_USER}:${hash}`;
}

/** The JVM flag that makes a server accept `password` for the super user. */
export function superDigestJvmFlag(password: string): string {
  return `-D${SUPER_DIGEST_PROPERTY}=${superDigest(password)}`;
}

/** The credentials for `add_auth('digest', …)`. */
export function superAuth(password: string): string {
  return `${SUPER_USER}:${password}`;
}
