/**
 * The Secret of more client CAs (`spec.tls.trustedClientCAs`), as the operator sees it: whether
 * members can trust what it holds. Members read it themselves (the start script adds it to the
 * client trust store and replaces that by rename when it changes, which ZooKeeper reloads), so
 * the operator only checks it: a Secret that is missing or holds no certificate would keep every
 * member that restarts from starting. Pure.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { TRUSTED_CLIENT_CAS_KEY } from '../api/tls-schema.js';
import type { SpecProblem } from '../api/validation.js';
import { secretText } from '../render/tls-secrets.js';
import { pemBlocks, readCertificate } from '../tls/x509.js';

export type ObservedTrustedClientCAs =
  | { kind: 'present'; commonNames: string[] }
  | { kind: 'problem'; problem: SpecProblem };

export function reviewTrustedClientCAs(
  secret: V1Secret | undefined,
  where: { namespace: string; secretName: string },
): ObservedTrustedClientCAs {
  const name = `${where.namespace}/${where.secretName}`;
  const problem = (message: string): ObservedTrustedClientCAs => ({
    kind: 'problem',
    problem: {
      reason: 'TrustedClientCAsUnusable',
      message: `${message}; no member is restarted or changed until it is fixed`,
    },
  });
  if (secret === undefined) {
    return problem(
      `Secret ${name}, which spec.tls.trustedClientCAs names, does not exist: create it with the PEM CA certificates under ${TRUSTED_CLIENT_CAS_KEY}`,
    );
  }
  const blocks = pemBlocks(secretText(secret, TRUSTED_CLIENT_CAS_KEY) ?? '', 'CERTIFICATE');
  if (blocks.length === 0) return problem(`Secret ${name} holds no PEM certificate under ${TRUSTED_CLIENT_CAS_KEY}`);
  const commonNames: string[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      commonNames.push(readCertificate(block).commonName);
    } catch (error) {
      return problem(
        `Secret ${name}: certificate ${index + 1} under ${TRUSTED_CLIENT_CAS_KEY} cannot be read (${(error as Error).message})`,
      );
    }
  }
  return { kind: 'present', commonNames };
}
