/**
 * Observe: everything one reconcile decides on, read once into plain data. The caches give the
 * cluster's objects, pods and claims; ZooKeeper gives its own view of the members (srvr, mntr,
 * conf). Every decision (`decide.ts`) and the status are pure functions of this snapshot, so
 * two of them never disagree about what they saw.
 *
 * Health readings may be reused from the last second (one reading serves every reconcile of a
 * busy moment). A step that changes the ensemble is never taken on a reused reading: the
 * reconciler observes the members anew (`withFreshHealth`) and decides again first.
 */
import type { V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1Secret } from '@kubernetes/client-node';
import { type ResolvedSpec, resolveSpec } from '../api/defaults.js';
import { usesCertificates } from '../api/tls-phases.js';
import type { ZooKeeperCluster } from '../api/types.js';
import { caCertificateWaiting } from '../render/cert-manager.js';
import type { DesiredObjects } from '../render/cluster.js';
import { DYNAMIC_CONFIG_KEY } from '../render/config-map.js';
import { objectNames } from '../render/names.js';
import type { OwnedObject } from '../runtime/kube-writer.js';
import type { EnsembleHealth } from '../zookeeper/health.js';
import type { ClientTls } from '../zookeeper/transport.js';
import { type ExternalCaSecret, type ObservedCertificates, observeCertificates } from './certificate-secrets.js';
import type { OwnedKind, ReconcilerDependencies } from './dependencies.js';
import { type ObservedDigestUsers, reviewDigestUsers } from './digest-users.js';
import { readMembersWhereTheyListen } from './member-move-act.js';
import { failsAs, StepFailed } from './step-failure.js';
import { podServesSecureClientPort, podTlsPhase } from './tls-phase.js';
import { type ObservedTrustedClientCAs, reviewTrustedClientCAs } from './trusted-client-cas.js';

/** The fields of the rendered objects; each names one object the cluster owns. */
export type ObjectField = keyof Omit<DesiredObjects, 'revision'>;

/** Which kind, under which name, each rendered object has. */
export function objectIdentity(cluster: ZooKeeperCluster, field: ObjectField): { kind: OwnedKind; name: string } {
  const names = objectNames(cluster.metadata);
  switch (field) {
    case 'configMap':
      return { kind: 'ConfigMap', name: names.configMap };
    case 'networkPolicy':
      return { kind: 'NetworkPolicy', name: names.networkPolicy };
    case 'headlessService':
      return { kind: 'Service', name: names.headlessService };
    case 'clientService':
      return { kind: 'Service', name: names.clientService };
    case 'statefulSet':
      return { kind: 'StatefulSet', name: names.statefulSet };
    case 'observerStatefulSet':
      return { kind: 'StatefulSet', name: names.observerStatefulSet };
    case 'podDisruptionBudget':
      return { kind: 'PodDisruptionBudget', name: names.podDisruptionBudget };
    case 'connectionConfigMap':
      return { kind: 'ConfigMap', name: names.connectionConfigMap };
  }
}

/**
 * Every object field, in apply order: configuration and Services before the pods that use them,
 * and the NetworkPolicy before the pods it guards.
 */
export const OBJECT_FIELDS: readonly ObjectField[] = [
  'configMap',
  'networkPolicy',
  'headlessService',
  'clientService',
  'statefulSet',
  'observerStatefulSet',
  'podDisruptionBudget',
  // Last: it names the members and the client Service applications connect through.
  'connectionConfigMap',
];

export interface ClusterSnapshot {
  cluster: ZooKeeperCluster;
  spec: ResolvedSpec;
  /** The cluster's own objects as the caches hold them; absent when they do not exist. */
  live: Partial<Record<ObjectField, OwnedObject>>;
  /** Pods labelled as the cluster's members, in any phase. */
  pods: readonly V1Pod[];
  /** PersistentVolumeClaims labelled as the cluster's. */
  claims: readonly V1PersistentVolumeClaim[];
  /** ZooKeeper's view of the members; undefined without member pods to ask. */
  health: EnsembleHealth | undefined;
  /** The certificate Secrets and what they say; with spec.tls, or while a member pod still uses TLS. */
  certificates?: ObservedCertificates | undefined;
  /**
   * The operator's client certificate for this cluster's members that serve TLS; undefined while
   * none does. Holds a private key: never logged, never in status.
   */
  operatorTls?: ClientTls | undefined;
  /** The SASL users' Secret, reviewed; with spec.authentication.digestUsers only. */
  digestUsers?: ObservedDigestUsers | undefined;
  /** The Secret of more client CAs, reviewed; with spec.tls.trustedClientCAs only. */
  trustedClientCAs?: ObservedTrustedClientCAs | undefined;
  now: Date;
}

/**
 * Reads the caches and the members into one snapshot of `cluster`. `fingerprintKey` keys the SASL
 * users' fingerprint (`digest-users.ts`): the cluster's super-user password.
 */
export async function observe(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  fingerprintKey = '',
): Promise<ClusterSnapshot> {
  const { namespace, name } = cluster.metadata;
  const live: Partial<Record<ObjectField, OwnedObject>> = {};
  for (const field of OBJECT_FIELDS) {
    const { kind, name: objectName } = objectIdentity(cluster, field);
    const object = deps.cache.owned(kind, namespace, objectName);
    if (object !== undefined) live[field] = object;
  }
  const pods = deps.cache.memberPods(namespace, name);
  const spec = resolveSpec(cluster.spec);
  const certificates = keepsCertificates(spec, pods)
    ? observeCertificates(deps, cluster, await readExternalCaSecret(deps, cluster, spec), deps.now())
    : undefined;
  const operatorTls = await operatorTlsFor(deps, pods, certificates);
  const digestUsers = await observeDigestUsers(deps, cluster, spec, fingerprintKey);
  const trustedClientCAs = await observeTrustedClientCAs(deps, cluster, spec);
  return {
    cluster,
    spec,
    live,
    pods,
    claims: deps.cache.claims(namespace, name),
    health: await readHealth(deps, cluster.metadata.name, spec, pods, live.configMap, false, operatorTls),
    ...(certificates === undefined ? {} : { certificates }),
    ...(operatorTls === undefined ? {} : { operatorTls }),
    ...(digestUsers === undefined ? {} : { digestUsers }),
    ...(trustedClientCAs === undefined ? {} : { trustedClientCAs }),
    now: deps.now(),
  };
}

/**
 * The users' Secret, read from the API server on each reconcile of a cluster that names one: one
 * GET, not a cache, because the operator's Secret cache holds only its own labelled Secrets (a
 * cache of every Secret in the watched namespaces would hold every password in them).
 */
async function observeDigestUsers(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
  fingerprintKey: string,
): Promise<ObservedDigestUsers | undefined> {
  if (spec.digestUsers === undefined) return undefined;
  const { secretName } = spec.digestUsers;
  const secret = await readUserSecret(deps, cluster.metadata.namespace, secretName, 'DigestUsersUnreadable');
  return reviewDigestUsers(secret, { namespace: cluster.metadata.namespace, secretName }, fingerprintKey);
}

/** The Secret of more client CAs, read as the users' Secret is, when spec.tls names one. */
async function observeTrustedClientCAs(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
): Promise<ObservedTrustedClientCAs | undefined> {
  const secretName = spec.tls?.trustedClientCAs?.secretName;
  if (secretName === undefined) return undefined;
  const secret = await readUserSecret(deps, cluster.metadata.namespace, secretName, 'TrustedClientCAsUnreadable');
  return reviewTrustedClientCAs(secret, { namespace: cluster.metadata.namespace, secretName });
}

/**
 * The Secret of the CA spec names instead of the operator's own, read as the users' Secrets are:
 * the user's (`caSecretName`), or the one cert-manager issues the CA into (`issuerRef`), with
 * cert-manager's Certificate of it.
 */
async function readExternalCaSecret(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
): Promise<ExternalCaSecret | undefined> {
  const source = spec.tls?.certificates.ca;
  const { namespace } = cluster.metadata;
  if (source === undefined || source.kind === 'operator') return undefined;
  if (source.kind === 'secret') {
    const { secretName } = source;
    return { secretName, secret: await readUserSecret(deps, namespace, secretName, 'CaSecretUnreadable') };
  }
  const names = objectNames(cluster.metadata);
  const reader = deps.certManager;
  if (reader === undefined) {
    throw new StepFailed('CertManagerUnavailable', 'this operator runs without access to cert-manager Certificates');
  }
  const live = await failsAs('CertManagerUnavailable', `reading Certificate ${namespace}/${names.caCertificate}`, () =>
    reader.read(namespace, names.caCertificate),
  );
  const secret = await readUserSecret(deps, namespace, names.issuedCaSecret, 'CaSecretUnreadable');
  return {
    secretName: names.issuedCaSecret,
    secret,
    waiting: caCertificateWaiting(live, names.caCertificate),
    certificate: { live },
  };
}

/** A Secret of the user's that spec names, from the API server; undefined when it does not exist. */
async function readUserSecret(
  deps: ReconcilerDependencies,
  namespace: string,
  secretName: string,
  failure: string,
): Promise<V1Secret | undefined> {
  const reader = deps.userSecrets;
  if (reader === undefined) {
    throw new StepFailed(failure, `the operator has no way to read Secret ${namespace}/${secretName}`);
  }
  return failsAs(failure, `reading Secret ${namespace}/${secretName}`, () => reader.read(namespace, secretName));
}

/**
 * Certificates are kept while spec asks for TLS, and after spec stopped asking while any member
 * pod still uses them: the ladder down takes rolls, and their key stores must stay valid until then.
 */
export const keepsCertificates = (spec: ResolvedSpec, pods: readonly V1Pod[]): boolean =>
  spec.tls !== undefined || pods.some((pod) => usesCertificates(podTlsPhase(pod)));

/**
 * The operator's client certificate from the cluster CA, when a member pod serves the TLS client
 * port (the operator reads it there, never at its plaintext port). Undefined without a usable CA:
 * such members are then read nowhere (`noOperatorCertificate`), so no step touches the
 * ensemble, while the certificate plan goes on and replaces the CA.
 */
async function operatorTlsFor(
  deps: ReconcilerDependencies,
  pods: readonly V1Pod[],
  certificates: ObservedCertificates | undefined,
): Promise<ClientTls | undefined> {
  if (!pods.some(podServesSecureClientPort)) return undefined;
  const authority = certificates?.authority;
  if (deps.credentials === undefined || authority === undefined) return undefined;
  return deps.credentials.forCluster(
    {
      ...authority,
      previousCertificatePem: certificates?.previousCaPem,
      trustedSince: certificates?.ca.kind === 'present' ? certificates.ca.since : undefined,
    },
    deps.now(),
  );
}

/**
 * The same snapshot with ZooKeeper's view read anew, reusing no reading, for deciding a step that
 * changes the ensemble (a restart, a reconfig, a pod count, a claim). Costs one reading per step.
 */
export async function withFreshHealth(
  deps: ReconcilerDependencies,
  snapshot: ClusterSnapshot,
): Promise<ClusterSnapshot> {
  const { cluster, spec, pods, live } = snapshot;
  const health = await readHealth(deps, cluster.metadata.name, spec, pods, live.configMap, true, snapshot.operatorTls);
  return { ...snapshot, health, now: deps.now() };
}

/** Each member at the client port it listens on now: its committed line's, which the live ConfigMap records. */
function readHealth(
  deps: ReconcilerDependencies,
  clusterName: string,
  spec: ResolvedSpec,
  pods: readonly V1Pod[],
  configMap: OwnedObject | undefined,
  fresh: boolean,
  operatorTls: ClientTls | undefined,
): Promise<EnsembleHealth | undefined> {
  const renderedDynamic = (configMap as V1ConfigMap | undefined)?.data?.[DYNAMIC_CONFIG_KEY];
  return readMembersWhereTheyListen(deps, clusterName, spec, pods, renderedDynamic, fresh, operatorTls);
}
