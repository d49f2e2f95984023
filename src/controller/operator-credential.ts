/**
 * The operator's own client certificate for members' secure client ports (`ssl.clientAuth=need`):
 * CN `zookeeper-operator`, client use only, issued by the cluster's CA, short-lived, and held in
 * memory only, one per CA, so that no Secret ever holds it and a restarted operator simply issues
 * a new one.
 *
 * `nextCredentialStep` decides (pure, `now` passed in); `operatorCredentials` holds the issued
 * credentials and acts on it:
 * - a credential is reused until a third of its life is left (`renewalPoint`), then reissued;
 * - after a CA rollover, a credential of the previous CA is kept (while valid) until the new CA
 *   has been in the members' trust bundle for `TRUST_PROPAGATION_MS`, as member certificates
 *   are: a certificate of the new CA would be refused by members that have not reloaded it yet.
 *   Members keep trusting the previous CA at least that long (`certificates.ts`, rollover step 3).
 *
 * The private key exists only in memory and in the returned `ClientTls`; nothing here logs, and
 * reasons carry fingerprints and times, never key material.
 */
import {
  type CertificateFacts,
  CLOCK_SKEW_ALLOWANCE_MS,
  issueClientCertificate,
  pemBlocks,
  readCertificate,
} from '../tls/x509.js';
import type { ClientTls } from '../zookeeper/transport.js';
import { issuedAt, renewalPoint, TRUST_PROPAGATION_MS } from './certificates.js';

export const OPERATOR_COMMON_NAME = 'zookeeper-operator';

/** Short, so that a leaked key is worth little; reissuing costs one key generation. */
export const OPERATOR_CREDENTIAL_LIFETIME_MS = 24 * 3_600_000;

/** The cluster's CA as `NAME-ca` holds it. */
export interface ClusterAuthority {
  certificatePem: string;
  privateKeyPem: string;
  /** The CA it replaced, still trusted during a rollover. */
  previousCertificatePem?: string | undefined;
  /** Since when members trust the CA (default: its issuance). */
  trustedSince?: Date | undefined;
}

/** What the decision knows about a held credential. */
export interface HeldCredential {
  /** SHA-256 fingerprint of the CA that signed it. */
  caFingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

export type CredentialStep<Held extends HeldCredential = HeldCredential> =
  | { kind: 'reuse'; held: Held }
  | { kind: 'issue'; validity: { notBefore: Date; notAfter: Date }; why: string };

/**
 * Whether to reuse one of `held` (credentials issued earlier, of any CA) for a cluster whose CA
 * is `ca` (and `previousCa` during a rollover), or issue a new one, valid for `lifetimeMs` and
 * never beyond the CA. Pure.
 */
export function nextCredentialStep<Held extends HeldCredential>(
  held: readonly Held[],
  ca: CertificateFacts,
  previousCa: CertificateFacts | undefined,
  now: Date,
  lifetimeMs = OPERATOR_CREDENTIAL_LIFETIME_MS,
  trustedSince: Date = issuedAt(ca),
): CredentialStep<Held> {
  const validity = {
    notBefore: new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: new Date(Math.min(now.getTime() + lifetimeMs, ca.notAfter.getTime())),
  };
  const current = held.find((credential) => credential.caFingerprint === ca.fingerprint);
  if (current !== undefined) {
    const renewAt = renewalPoint(current, lifetimeMs / 3, lifetimeMs);
    if (now < renewAt) return { kind: 'reuse', held: current };
    return { kind: 'issue', validity, why: `the credential reached its renewal point ${renewAt.toISOString()}` };
  }
  const trustedAt = new Date(trustedSince.getTime() + TRUST_PROPAGATION_MS);
  const previous = held.find((credential) => credential.caFingerprint === previousCa?.fingerprint);
  if (previous !== undefined && now < trustedAt && now < previous.notAfter) return { kind: 'reuse', held: previous };
  return { kind: 'issue', validity, why: `no credential of CA ${ca.fingerprint} yet` };
}

export interface OperatorCredentials {
  /** Client credentials for the cluster whose CA is `authority`: a held certificate, or a new one. */
  forCluster(authority: ClusterAuthority, now: Date): Promise<ClientTls>;
}

interface Entry extends HeldCredential {
  keyed: Promise<{ cert: string; key: string }>;
}

export interface OperatorCredentialOptions {
  lifetimeMs?: number;
  /** Told of each issuance (for the log): the CA, until when, and why. Never the key. */
  onIssued?: (issued: { caFingerprint: string; notAfter: Date; why: string }) => void;
}

/** Holds the operator's credentials, one per CA, forgetting each once it has expired. */
export function operatorCredentials(options: OperatorCredentialOptions = {}): OperatorCredentials {
  const lifetimeMs = options.lifetimeMs ?? OPERATOR_CREDENTIAL_LIFETIME_MS;
  const byCa = new Map<string, Entry>();
  return {
    forCluster: async (authority, now) => {
      for (const [fingerprint, entry] of byCa) if (entry.notAfter <= now) byCa.delete(fingerprint);
      const ca = readCertificate(authority.certificatePem);
      const previousCa =
        authority.previousCertificatePem === undefined ? undefined : readCertificate(authority.previousCertificatePem);
      // Every CA the members may present a certificate of: the current one, and the previous one
      // until every member has moved off it.
      // Only each CA itself, never a root it chains to: that root may have signed much else.
      const trusted = [authority.certificatePem, authority.previousCertificatePem]
        .flatMap((pem) => (pem === undefined ? [] : pemBlocks(pem, 'CERTIFICATE').slice(0, 1)))
        .join('');
      const step = nextCredentialStep([...byCa.values()], ca, previousCa, now, lifetimeMs, authority.trustedSince);
      let entry: Entry;
      if (step.kind === 'reuse') {
        entry = step.held;
      } else {
        const keyed = issueClientCertificate(authority, { commonName: OPERATOR_COMMON_NAME, ...step.validity }).then(
          (issued) => {
            options.onIssued?.({ caFingerprint: ca.fingerprint, notAfter: step.validity.notAfter, why: step.why });
            return { cert: issued.certificatePem, key: issued.privateKeyPem };
          },
        );
        entry = { caFingerprint: ca.fingerprint, ...step.validity, keyed };
        byCa.set(ca.fingerprint, entry);
        // A failed issuance is not held: the next call tries again.
        const issuing = entry;
        keyed.catch(() => {
          if (byCa.get(ca.fingerprint) === issuing) byCa.delete(ca.fingerprint);
        });
      }
      const { cert, key } = await entry.keyed;
      return { ca: trusted, cert, key };
    },
  };
}
