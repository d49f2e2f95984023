/**
 * The SASL DIGEST-MD5 users' Secret (`spec.authentication.digestUsers`), as the operator sees it:
 * what members would load from it, checked the way each member's start script checks it, and
 * its fingerprint. Members read their users only at start, so the fingerprint is in the pod
 * template (`DIGEST_USERS_ANNOTATION`): new users, new revision, a roll. Pure.
 *
 * The fingerprint is an HMAC keyed with the cluster's super-user password, which only the
 * operator and its own Secret hold: anyone may read a pod template, and a plain hash of a
 * weak password could be reversed offline.
 *
 * A Secret that is missing or that members would refuse to start with is a problem that stops
 * every change to the members (`reconciler.ts`): rolling them onto it would take them down one
 * after another.
 */
import { createHmac } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { RESERVED_SASL_USER } from '../api/constants.js';
import type { SpecProblem } from '../api/validation.js';
import { canonicalJson } from '../render/canonical-json.js';

export type ObservedDigestUsers =
  | { kind: 'present'; users: string[]; fingerprint: string }
  | { kind: 'problem'; problem: SpecProblem };

/** What the start script refuses (`render/scripts.ts`), said of one user; never the password. */
function passwordProblem(password: Buffer): string | undefined {
  if (password.length === 0) return 'its password is empty';
  if (password.includes(0)) return 'its password contains a NUL byte, which a JAAS file cannot hold';
  if (password.includes('${')) return "its password contains '${', which JAAS would expand as a system property";
  return undefined;
}

export function reviewDigestUsers(
  secret: V1Secret | undefined,
  where: { namespace: string; secretName: string },
  fingerprintKey: string,
): ObservedDigestUsers {
  const name = `${where.namespace}/${where.secretName}`;
  const problem = (reason: string, message: string): ObservedDigestUsers => ({
    kind: 'problem',
    problem: { reason, message: `${message}; no member is restarted or changed until it is fixed` },
  });
  if (secret === undefined) {
    return problem(
      'DigestUsersSecretMissing',
      `Secret ${name}, which spec.authentication.digestUsers names, does not exist: create it with one key per SASL user, the password as its value`,
    );
  }
  const data = secret.data ?? {};
  const users = Object.keys(data).sort();
  if (users.includes(RESERVED_SASL_USER)) {
    return problem(
      'DigestUserReserved',
      `Secret ${name} holds a SASL user '${RESERVED_SASL_USER}': the super user is the operator's alone; rename that key`,
    );
  }
  for (const user of users) {
    const refused = passwordProblem(Buffer.from(data[user] ?? '', 'base64'));
    if (refused !== undefined) return problem('DigestUserInvalid', `Secret ${name}: SASL user '${user}': ${refused}`);
  }
  const fingerprint = createHmac('sha256', fingerprintKey)
    .update(canonicalJson(Object.fromEntries(users.map((user) => [user, data[user]]))))
    .digest('hex')
    .slice(0, 32);
  return { kind: 'present', users, fingerprint };
}

/** The fingerprint to render, when the snapshot has one. */
export const digestUsersFingerprint = (observed: ObservedDigestUsers | undefined): string | undefined =>
  observed?.kind === 'present' ? observed.fingerprint : undefined;
