/**
 * The cert-manager `Certificate` of a cluster's CA, for `spec.tls.certificates.issuerRef`:
 * cert-manager issues a CA certificate from the user's issuer into Secret `NAME-issued-ca`, and a
 * new one when the operator asks for the next generation at two thirds of its life
 * (`caGeneration`); the operator signs the members' certificates with it, as with a CA of the
 * user's own (`controller/certificates.ts`).
 *
 * One CA per cluster rather than a Certificate per member: members' certificates keep being
 * issued and renewed at the operator's pace and reloaded without a restart, the operator's own
 * client certificate comes from the same CA, and cert-manager holds one object per cluster.
 */
import type { ResolvedTls } from '../api/defaults.js';
import type { ZooKeeperCluster } from '../api/types.js';
import type { CertificateFacts } from '../tls/x509.js';
import { ownerReference } from './cluster.js';
import { commonLabels, objectNames } from './names.js';
import { caCommonName } from './tls-secrets.js';

export const CERT_MANAGER_GROUP = 'cert-manager.io';
export const CERT_MANAGER_VERSION = 'v1';
export const CERTIFICATE_PLURAL = 'certificates';

/** The part of a cert-manager Certificate the operator writes and compares. */
export interface CaCertificate {
  apiVersion: string;
  kind: 'Certificate';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: ReturnType<typeof ownerReference>[];
  };
  spec: CaCertificateSpec;
}

export interface CaCertificateSpec {
  isCA: true;
  commonName: string;
  secretName: string;
  duration: string;
  renewBefore: string;
  privateKey: { algorithm: 'ECDSA'; size: 256; encoding: 'PKCS8'; rotationPolicy: 'Always' };
  usages: string[];
  issuerRef: { name: string; kind: string; group: string };
}

/**
 * The CA generation to ask cert-manager for: the issued CA's own (its common name ends in
 * `#N`), or the next one once that CA is past two thirds of its life; 1 when none is issued yet.
 *
 * Why the operator, not cert-manager, decides when the CA is renewed: cert-manager renews with
 * the same subject, and ZooKeeper's PEM trust store keeps one certificate per subject, so members
 * could not trust the old and the new CA side by side (`CaSubjectReused`). A new generation in the
 * common name is a change of spec, on which cert-manager issues at once, under a subject of its
 * own. cert-manager's own `renewBefore` is a tenth of the CA's life, a fallback that the
 * operator's renewal at two thirds always comes before.
 */
export function caGeneration(
  issued: Pick<CertificateFacts, 'commonName' | 'notBefore' | 'notAfter'> | undefined,
  now: Date,
): number {
  if (issued === undefined) return 1;
  const generation = Number(/ #(\d+)\)$/.exec(issued.commonName)?.[1] ?? '0');
  const life = issued.notAfter.getTime() - issued.notBefore.getTime();
  const due = now.getTime() >= issued.notBefore.getTime() + (2 * life) / 3;
  return due || generation === 0 ? generation + 1 : generation;
}

/** `issued`: the CA cert-manager issued into `NAME-issued-ca`, as read; undefined before the first. */
export function renderCaCertificate(
  cluster: ZooKeeperCluster,
  certificates: ResolvedTls['certificates'] & { ca: { kind: 'issuer' } },
  issued: Pick<CertificateFacts, 'commonName' | 'notBefore' | 'notAfter'> | undefined,
  now: Date,
): CaCertificate {
  const names = objectNames(cluster.metadata);
  return {
    apiVersion: `${CERT_MANAGER_GROUP}/${CERT_MANAGER_VERSION}`,
    kind: 'Certificate',
    metadata: {
      name: names.caCertificate,
      namespace: cluster.metadata.namespace,
      labels: commonLabels(cluster.metadata, 'tls'),
      ownerReferences: [ownerReference(cluster)],
    },
    spec: {
      isCA: true,
      // Never the operator's own CA's name, and a subject of its own in each generation.
      commonName: `${caCommonName(cluster.metadata)} (cert-manager #${caGeneration(issued, now)})`,
      secretName: names.issuedCaSecret,
      duration: goDuration(certificates.caLifetimeMs),
      // A fallback only: the operator asks for the next generation at two thirds of the CA's life.
      renewBefore: goDuration(Math.floor(certificates.caLifetimeMs / 10)),
      // A new key with every renewal, in the one encoding every reader takes.
      privateKey: { algorithm: 'ECDSA', size: 256, encoding: 'PKCS8', rotationPolicy: 'Always' },
      usages: ['cert sign', 'crl sign', 'digital signature'],
      issuerRef: { ...certificates.ca.issuerRef },
    },
  };
}

/** Whether the live Certificate's spec says what `wanted` says (cert-manager may add fields). */
export function caCertificateCurrent(live: { spec?: unknown } | undefined, wanted: CaCertificate): boolean {
  if (live?.spec === undefined || live.spec === null || typeof live.spec !== 'object') return false;
  const spec = live.spec as Record<string, unknown>;
  return Object.entries(wanted.spec).every(([key, value]) => JSON.stringify(spec[key]) === JSON.stringify(value));
}

/** What cert-manager says about the Certificate while its Secret does not exist, in words. */
export function caCertificateWaiting(live: { status?: unknown } | undefined, name: string): string {
  if (live === undefined) return `cert-manager has not issued Certificate ${name} yet`;
  const conditions = (
    live.status as { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] } | undefined
  )?.conditions;
  const ready = conditions?.find((condition) => condition.type === 'Ready');
  return ready === undefined
    ? `cert-manager has not looked at Certificate ${name} yet (is cert-manager running?)`
    : `Certificate ${name} is not ready: ${ready.reason ?? ''} ${ready.message ?? ''}`.trim();
}

/** Milliseconds as a Go duration (`43800h0m0s`), the form cert-manager's `duration` takes. */
function goDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m${seconds % 60}s`;
}
