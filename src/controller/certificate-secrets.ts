/**
 * The I/O side of the certificate policy (`certificates.ts`), in two halves:
 * - observe: the CA and member Secrets from the operator's Secret cache, read into plain facts
 *   (parsed certificates, which CA signed each, whether each key matches its certificate);
 * - act: the plan taken: keys generated and certificates signed (`tls/x509.ts`), then the
 *   Secrets written, the CA first. A Secret is created when missing and otherwise replaced with
 *   the resourceVersion it was read at, so a write based on a stale cache fails with a conflict
 *   and is decided again, never overwrites what someone else wrote in between.
 *
 * Renewal writes new data into `NAME-tls`; once members mount it (a later step), the kubelet
 * refreshes the files and ZooKeeper reloads them without a restart (`sslQuorumReloadCertFiles`,
 * `client.certReload`).
 *
 * Private keys never leave the Secrets: logs and Events name the Secret, the member, the reason
 * and the expiry, never data.
 */
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { USER_CA_CERTIFICATE_KEY, USER_CA_PRIVATE_KEY_KEY } from '../api/tls-schema.js';
import type { ZooKeeperCluster } from '../api/types.js';
import { objectNames } from '../render/names.js';
import {
  CA_CERTIFICATE_KEY,
  CA_IN_USE_SINCE_ANNOTATION,
  CA_PRIVATE_KEY_KEY,
  caCommonName,
  PREVIOUS_CA_CERTIFICATE_KEY,
  podOfKeyStoreKey,
  renderCaSecret,
  renderTlsSecret,
  secretText,
  TRUST_BUNDLE_KEY,
} from '../render/tls-secrets.js';
import type { ReconcileContext } from '../runtime/controller.js';
import { classifyKubeError } from '../runtime/kube-errors.js';
import {
  authorityProblem,
  createCertificateAuthority,
  isIssuedBy,
  issueCertificate,
  type KeyedCertificate,
  keyMatches,
  pemBlocks,
  readCertificate,
} from '../tls/x509.js';
import {
  type CertificatePlan,
  issuedAt,
  type ObservedCa,
  type ObservedExternalCa,
  type ObservedMemberCertificate,
  type ObservedMemberSecret,
} from './certificates.js';
import type { ReconcilerDependencies } from './dependencies.js';
import { failsAs, StepFailed } from './step-failure.js';

/** The cluster's two certificate Secrets as the cache holds them, and what they say. */
export interface ObservedCertificates {
  caSecret: V1Secret | undefined;
  tlsSecret: V1Secret | undefined;
  ca: ObservedCa;
  memberSecret: ObservedMemberSecret;
  /** The CA spec names instead of the operator's own; undefined when it names none. */
  externalCa?: ObservedExternalCa | undefined;
  /** The external CA with its private key, when it can sign. */
  externalAuthority?: KeyedCertificate | undefined;
  /** The CA members are issued under now (`NAME-ca`'s current), with its private key when that is at hand. */
  authority: KeyedCertificate | undefined;
  /** The previous CA's certificate while a rollover overlaps. */
  previousCaPem: string | undefined;
  /** With `issuerRef`: cert-manager's Certificate of the CA as read; `live` undefined when there is none. */
  caCertificate?: { live: LiveCertificate | undefined } | undefined;
}

/**
 * The Secret of the CA spec names instead of the operator's own: `secret` as read from the API
 * server (undefined when it does not exist), and for one cert-manager issues, what it waits for.
 */
export interface ExternalCaSecret {
  secretName: string;
  secret: V1Secret | undefined;
  waiting?: string | undefined;
  /** With `issuerRef`: cert-manager's Certificate of the CA as read; `live` undefined when there is none. */
  certificate?: { live: LiveCertificate | undefined } | undefined;
}

/** A cert-manager Certificate as the API server returns it, in the parts the operator reads. */
export type LiveCertificate = { spec?: unknown; status?: unknown };

/** Reads the cluster's certificate Secrets from the cache (and the external CA's, read already) into facts. */
export function observeCertificates(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  external: ExternalCaSecret | undefined,
  now: Date,
): ObservedCertificates {
  if (deps.tls === undefined) {
    throw new StepFailed(
      'TlsUnavailable',
      `cluster ${cluster.metadata.namespace}/${cluster.metadata.name} asks for spec.tls, but this operator runs without its Secret cache`,
    );
  }
  const { namespace } = cluster.metadata;
  const names = objectNames(cluster.metadata);
  const caSecret = deps.tls.cached(namespace, names.caSecret);
  const tlsSecret = deps.tls.cached(namespace, names.tlsSecret);
  const ca = readCa(cluster, caSecret);
  const { observed: externalCa, authority: externalAuthority } =
    external === undefined ? { observed: undefined, authority: undefined } : readExternalCa(external, now);
  const currentPem = ca.kind === 'present' ? secretText(caSecret, CA_CERTIFICATE_KEY) : undefined;
  const ownKeyPem = ca.kind === 'present' && ca.holdsKey ? secretText(caSecret, CA_PRIVATE_KEY_KEY) : undefined;
  const authority =
    currentPem === undefined || ca.kind !== 'present'
      ? undefined
      : ownKeyPem !== undefined
        ? { certificatePem: currentPem, privateKeyPem: ownKeyPem }
        : externalCa?.kind === 'present' && externalCa.facts.fingerprint === ca.current.fingerprint
          ? externalAuthority
          : undefined;
  return {
    caSecret,
    tlsSecret,
    ca,
    memberSecret: readMemberSecret(cluster, tlsSecret, caSecret, ca),
    externalCa,
    externalAuthority,
    authority,
    previousCaPem: ca.kind === 'present' ? secretText(caSecret, PREVIOUS_CA_CERTIFICATE_KEY) : undefined,
    caCertificate: external?.certificate,
  };
}

function readCa(cluster: ZooKeeperCluster, secret: V1Secret | undefined): ObservedCa {
  if (secret === undefined) return { kind: 'missing' };
  const owners = foreignOwners(cluster, secret);
  if (owners !== undefined) return { kind: 'notOwned', owners };
  const resourceVersion = secret.metadata?.resourceVersion ?? '';
  const certificatePem = secretText(secret, CA_CERTIFICATE_KEY);
  const privateKeyPem = secretText(secret, CA_PRIVATE_KEY_KEY);
  if (certificatePem === undefined) {
    return { kind: 'unusable', problem: `it lacks ${CA_CERTIFICATE_KEY}`, resourceVersion };
  }
  try {
    if (privateKeyPem !== undefined && !keyMatches(certificatePem, privateKeyPem)) {
      return { kind: 'unusable', problem: 'its private key does not belong to its certificate', resourceVersion };
    }
    const previousPem = secretText(secret, PREVIOUS_CA_CERTIFICATE_KEY);
    const current = readCertificate(certificatePem);
    // Without the record (a CA written before it was kept), the CA's own issuance time.
    const recorded = Date.parse(secret.metadata?.annotations?.[CA_IN_USE_SINCE_ANNOTATION] ?? '');
    return {
      kind: 'present',
      resourceVersion,
      current,
      previous: previousPem === undefined ? undefined : readCertificate(previousPem),
      holdsKey: privateKeyPem !== undefined,
      since: Number.isNaN(recorded) ? issuedAt(current) : new Date(recorded),
    };
  } catch (error) {
    return { kind: 'unusable', problem: `it does not parse: ${parseProblem(error)}`, resourceVersion };
  }
}

/** The external CA's Secret, read into facts, and the CA with its key when it can sign now. */
function readExternalCa(
  external: ExternalCaSecret,
  now: Date,
): { observed: ObservedExternalCa; authority?: KeyedCertificate | undefined } {
  const { secretName: secret } = external;
  if (external.secret === undefined) return { observed: { kind: 'missing', secret, waiting: external.waiting } };
  const certificatePem = secretText(external.secret, USER_CA_CERTIFICATE_KEY);
  const privateKeyPem = secretText(external.secret, USER_CA_PRIVATE_KEY_KEY);
  if (certificatePem === undefined || privateKeyPem === undefined) {
    return {
      observed: {
        kind: 'unusable',
        secret,
        problem: `it lacks ${USER_CA_CERTIFICATE_KEY} or ${USER_CA_PRIVATE_KEY_KEY}`,
      },
    };
  }
  const authority = { certificatePem, privateKeyPem };
  try {
    const problem = authorityProblem(authority);
    if (problem !== undefined) return { observed: { kind: 'unusable', secret, problem } };
    const facts = readCertificate(certificatePem);
    if (facts.notAfter <= now) {
      return { observed: { kind: 'unusable', secret, problem: `it expired at ${facts.notAfter.toISOString()}` } };
    }
    return { observed: { kind: 'present', secret, facts }, authority };
  } catch (error) {
    return { observed: { kind: 'unusable', secret, problem: `it does not parse: ${parseProblem(error)}` } };
  }
}

function readMemberSecret(
  cluster: ZooKeeperCluster,
  secret: V1Secret | undefined,
  caSecret: V1Secret | undefined,
  ca: ObservedCa,
): ObservedMemberSecret {
  if (secret === undefined) return { kind: 'missing' };
  const owners = foreignOwners(cluster, secret);
  if (owners !== undefined) return { kind: 'notOwned', owners };
  const currentPem = ca.kind === 'present' ? secretText(caSecret, CA_CERTIFICATE_KEY) : undefined;
  const previousPem = ca.kind === 'present' ? secretText(caSecret, PREVIOUS_CA_CERTIFICATE_KEY) : undefined;
  const members: Record<string, ObservedMemberCertificate> = {};
  for (const key of Object.keys(secret.data ?? {})) {
    const pod = podOfKeyStoreKey(key);
    if (pod === undefined) continue;
    members[pod] = readKeyStore(secretText(secret, key) ?? '', currentPem, previousPem);
  }
  let trusted: string[] = [];
  try {
    trusted = pemBlocks(secretText(secret, TRUST_BUNDLE_KEY) ?? '', 'CERTIFICATE').map(
      (pem) => readCertificate(pem).fingerprint,
    );
  } catch {
    // A bundle that does not parse is not the CA's: the plan rewrites it.
    trusted = ['unreadable'];
  }
  return { kind: 'present', resourceVersion: secret.metadata?.resourceVersion ?? '', trusted, members };
}

function readKeyStore(
  pem: string,
  currentCaPem: string | undefined,
  previousCaPem: string | undefined,
): ObservedMemberCertificate {
  const [keyPem] = pemBlocks(pem, 'PRIVATE KEY');
  const [certificatePem] = pemBlocks(pem, 'CERTIFICATE');
  if (keyPem === undefined || certificatePem === undefined) {
    return { kind: 'unusable', problem: 'its key store lacks a private key or a certificate' };
  }
  try {
    if (!keyMatches(certificatePem, keyPem)) {
      return { kind: 'unusable', problem: 'its private key does not belong to its certificate' };
    }
    const issuer =
      currentCaPem !== undefined && isIssuedBy(certificatePem, currentCaPem)
        ? 'current'
        : previousCaPem !== undefined && isIssuedBy(certificatePem, previousCaPem)
          ? 'previous'
          : 'other';
    return { kind: 'present', facts: readCertificate(certificatePem), issuer };
  } catch (error) {
    return { kind: 'unusable', problem: `it does not parse: ${parseProblem(error)}` };
  }
}

/** Undefined when `cluster` is the Secret's controller owner; else who owns it, in words. */
function foreignOwners(cluster: ZooKeeperCluster, secret: V1Secret): string | undefined {
  const references: V1OwnerReference[] = secret.metadata?.ownerReferences ?? [];
  const ours = references.some(
    (reference) =>
      reference.uid === cluster.metadata.uid && reference.controller === true && reference.blockOwnerDeletion === true,
  );
  if (ours) return undefined;
  return references.length === 0
    ? `has no owner reference to this cluster (uid ${cluster.metadata.uid})`
    : `is owned by ${references.map((owner) => `${owner.kind} ${owner.name} (uid ${owner.uid})`).join(', ')}`;
}

/** The reason a PEM did not parse, without any of its content. */
const parseProblem = (error: unknown): string =>
  error instanceof Error && 'code' in error ? String(error.code) : 'not a PEM certificate';

/**
 * Takes the plan: the CA step, then every member issuance in one write of `NAME-tls`. Returns
 * nothing; the informer's events bring the written Secrets back into the next snapshot.
 */
export async function takeCertificatePlan(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  observed: ObservedCertificates,
  plan: CertificatePlan,
  ctx: ReconcileContext,
): Promise<void> {
  const store = deps.tls;
  if (store === undefined) return;
  if (plan.kind === 'blocked') {
    throw new StepFailed(plan.reason.code, plan.reason.message);
  }
  if (plan.ca.kind === 'keep' && !plan.writeMemberSecret) return;
  const names = objectNames(cluster.metadata);
  const record = async (reason: string, message: string) => {
    ctx.logger.info(message, { reason });
    await deps.events.record(cluster, 'Normal', reason, message);
  };

  let authority = observed.authority;
  let currentPem = secretText(observed.caSecret, CA_CERTIFICATE_KEY);
  let previousPem = observed.previousCaPem;
  let since = observed.ca.kind === 'present' ? observed.ca.since : deps.now();
  const caStep = plan.ca;
  if (caStep.kind !== 'keep') {
    if (caStep.kind === 'create' || caStep.kind === 'rollover') {
      previousPem = caStep.kind === 'rollover' ? currentPem : undefined;
      authority =
        observed.externalCa === undefined
          ? await createCertificateAuthority({
              // A subject of its own for each CA: ZooKeeper's PEM trust store keeps one
              // certificate per subject, so two CAs of one name could not be trusted side by side.
              commonName: `${caCommonName(cluster.metadata)} (${deps.now().toISOString()})`,
              notBefore: caStep.validity.notBefore,
              notAfter: caStep.validity.notAfter,
            })
          : observed.externalAuthority;
      // The CA alone: a chain in the user's Secret goes into key stores, never into what members trust.
      currentPem = authority === undefined ? undefined : pemBlocks(authority.certificatePem, 'CERTIFICATE')[0];
      since = deps.now();
    } else {
      previousPem = undefined;
    }
    if (currentPem === undefined) throw new Error(`cluster ${names.caSecret}: no CA to keep`);
    // The key of an external CA stays in its own Secret.
    const content = {
      certificatePem: currentPem,
      privateKeyPem: observed.externalCa === undefined ? authority?.privateKeyPem : undefined,
      previousCertificatePem: previousPem,
      since,
    };
    const written = await writeSecret(
      deps,
      cluster,
      observed.caSecret,
      (resourceVersion) => renderCaSecret(cluster, content, resourceVersion),
      ctx,
    );
    // Members are issued only under a CA that is stored: never under one a stale write lost.
    if (!written) return;
    const expiry = caStep.kind === 'dropPrevious' ? '' : `; it expires at ${caStep.validity.notAfter.toISOString()}`;
    await record(caStep.reason.code, `Secret ${names.caSecret}: ${caStep.reason.message}${expiry}`);
  }
  if (!plan.writeMemberSecret) return;
  if (authority === undefined) {
    throw new StepFailed(
      'CaKeyUnavailable',
      `the key of the CA in Secret ${names.caSecret} is not at hand: no certificate can be issued until it is`,
    );
  }

  const keyStores = new Map<string, string>();
  for (const key of Object.keys(observed.tlsSecret?.data ?? {})) {
    const pod = podOfKeyStoreKey(key);
    if (pod !== undefined && !plan.remove.includes(pod)) keyStores.set(pod, secretText(observed.tlsSecret, key) ?? '');
  }
  for (const step of plan.issue) {
    const issued = await issueCertificate(authority, {
      commonName: step.pod,
      dnsNames: step.dnsNames,
      notBefore: step.validity.notBefore,
      notAfter: step.validity.notAfter,
    });
    keyStores.set(step.pod, `${issued.privateKeyPem}${issued.certificatePem}${authority.certificatePem}`);
  }
  const bundle = `${currentPem ?? ''}${previousPem ?? ''}`;
  const written = await writeSecret(
    deps,
    cluster,
    observed.tlsSecret,
    (resourceVersion) => renderTlsSecret(cluster, bundle, keyStores, resourceVersion),
    ctx,
  );
  if (!written) return;
  for (const step of plan.issue) {
    await record(
      'CertificateIssued',
      `issued the certificate of ${step.pod} in Secret ${names.tlsSecret}, valid until ${step.validity.notAfter.toISOString()} (${step.reason.code}: ${step.reason.message})`,
    );
  }
  if (plan.remove.length > 0) {
    await record(
      'CertificateRemoved',
      `removed the certificates of ${plan.remove.join(', ')} from Secret ${names.tlsSecret}: no such member any more`,
    );
  }
}

/**
 * Creates the Secret when the cache had none, else replaces it at the resourceVersion the cache
 * had. Returns false when the cache was behind: the Secret exists already, owned by the cluster
 * (an earlier write the watch has not delivered yet), or changed since it was read. Nothing is
 * written then, and the watch event of that change brings the cluster back to decide again. A
 * Secret of that name the cache cannot see (without the labels) and the cluster does not own is
 * reported as TlsSecretNotOwned.
 */
async function writeSecret(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  live: V1Secret | undefined,
  render: (resourceVersion: string | undefined) => V1Secret,
  ctx: ReconcileContext,
): Promise<boolean> {
  const store = deps.tls;
  if (store === undefined) return false;
  const resourceVersion = live?.metadata?.resourceVersion;
  const secret = render(resourceVersion);
  const name = secret.metadata?.name ?? '';
  const what = `${live === undefined ? 'creating' : 'replacing'} Secret ${name}`;
  try {
    await (live === undefined ? store.create(secret) : store.replace(secret));
    return true;
  } catch (error) {
    const kind = classifyKubeError(error).kind;
    if (kind === 'conflict') {
      ctx.logger.debug(`${what}: it changed since the cache read it; deciding again on its event`);
      return false;
    }
    if (kind !== 'alreadyExists')
      throw new StepFailed('CertificateWriteFailed', `${what} failed: ${classifyKubeError(error).message}`, {
        cause: error,
      });
    const existing = await failsAs('CertificateWriteFailed', `reading Secret ${name}`, () =>
      store.read(cluster.metadata.namespace, name),
    );
    const owners = existing === undefined ? undefined : foreignOwners(cluster, existing);
    if (owners !== undefined) {
      throw new StepFailed(
        'TlsSecretNotOwned',
        `Secret ${name} exists and ${owners}, so the operator neither uses nor changes it and issues no certificate for this cluster. Delete it and the operator creates its own.`,
      );
    }
    ctx.logger.debug(`${what}: the cache has not seen it yet; deciding again on its event`);
    return false;
  }
}
