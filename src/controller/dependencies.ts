/**
 * What the reconciler needs from the world, in one place: read access to the informer caches,
 * the writes a reconcile may make, Events, reconfiguration sessions and gauges. The adapters in
 * `src/runtime/` and `src/operator.ts` implement these; the test fakes do too. Nothing here
 * imports the reconciler.
 */
import type { V1OwnerReference, V1PersistentVolumeClaim, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { OperationStatus, TlsStatus, ZooKeeperCluster } from '../api/types.js';
import type { CaCertificate } from '../render/cert-manager.js';
import type { OperatorPod } from '../render/network-policy.js';
import type { EventTarget, EventType } from '../runtime/event-recorder.js';
import type { OwnedObject, SuperUserSecret } from '../runtime/kube-writer.js';
import type { EnsembleReader } from '../zookeeper/ensemble-reader.js';
import type { EnsembleHealth } from '../zookeeper/health.js';
import type { MembershipClient } from '../zookeeper/reconfig-client.js';
import type { SessionServer } from '../zookeeper/session.js';
import type { OperatorCredentials } from './operator-credential.js';
import type { EvictionOutcome } from './rolling-restart.js';

export type OwnedKind = 'ConfigMap' | 'Service' | 'StatefulSet' | 'PodDisruptionBudget' | 'NetworkPolicy';

/** Read access to the informer caches. */
export interface ClusterCache {
  cluster(namespace: string, name: string): ZooKeeperCluster | undefined;
  owned(kind: OwnedKind, namespace: string, name: string): OwnedObject | undefined;
  /** Pods labelled as members of the cluster. */
  memberPods(namespace: string, clusterName: string): V1Pod[];
  /** PersistentVolumeClaims labelled as the cluster's. */
  claims(namespace: string, clusterName: string): V1PersistentVolumeClaim[];
}

/** The writes a reconcile may make. */
export interface ClusterWriter {
  apply(object: OwnedObject): Promise<void>;
  /**
   * Evicts a member pod to restart it, only if it still has this uid (never its successor). The
   * cluster's PodDisruptionBudget may refuse; a refusal is an outcome, not an error.
   */
  evictPod(namespace: string, name: string, uid: string): Promise<EvictionOutcome>;
  /**
   * The cluster's super-user Secret, created (owned by `owner`) when missing. One of that name
   * that `owner` does not own is reported as `notOwned`, never used.
   */
  superUserSecret(namespace: string, secretName: string, owner: V1OwnerReference): Promise<SuperUserSecret>;
  deleteClaim(namespace: string, name: string): Promise<void>;
  /** Raises a claim's storage request. */
  resizeClaim(namespace: string, name: string, size: string): Promise<void>;
  /** Deletes the cluster's NetworkPolicy, only if it still has this uid. */
  deleteNetworkPolicy(namespace: string, name: string, uid: string): Promise<void>;
  /** Deletes the StatefulSet, only if it still has this uid, leaving its pods and claims. */
  deleteStatefulSetKeepingPods(namespace: string, name: string, uid: string): Promise<void>;
  markClaim(namespace: string, name: string, annotation: string, version: string): Promise<void>;
  /** Annotates a member pod, only if it still has this uid. */
  annotatePod(namespace: string, name: string, uid: string, annotation: string, value: string): Promise<void>;
  applyClusterStatus(namespace: string, name: string, status: ZooKeeperCluster['status'] & object): Promise<void>;
}

/** Opens ZooKeeper sessions for reconfiguration: `servers` are `ip:clientPort`, or a secure client port with its TLS target. */
export type MembershipFactory = (servers: readonly SessionServer[], superPassword: string) => MembershipClient;

export interface Events {
  record(target: EventTarget, type: EventType, reason: string, message: string): Promise<boolean>;
}

/**
 * The clusters' certificate Secrets (`NAME-ca`, `NAME-tls`): read from a cache that holds only
 * Secrets labelled as the operator's certificate Secrets, written whole.
 */
export interface TlsSecretStore {
  cached(namespace: string, name: string): V1Secret | undefined;
  /** Reads one from the API server (undefined when there is none): a Secret the cache cannot see. */
  read(namespace: string, name: string): Promise<V1Secret | undefined>;
  create(secret: V1Secret): Promise<void>;
  /** Replaces the Secret only if it still has `secret.metadata.resourceVersion` (else a 409). */
  replace(secret: V1Secret): Promise<void>;
}

/**
 * Secrets the user names in the spec (the SASL users'), read from the API server: the operator's
 * Secret cache holds only its own labelled Secrets, never a user's.
 */
export interface UserSecretReader {
  /** undefined when there is none. */
  read(namespace: string, name: string): Promise<V1Secret | undefined>;
}

/** cert-manager's Certificates: the one of each cluster whose CA cert-manager issues (`render/cert-manager.ts`). */
export interface CertManagerCertificates {
  /** undefined when there is none, or cert-manager's API is not installed. */
  read(namespace: string, name: string): Promise<{ spec?: unknown; status?: unknown } | undefined>;
  apply(certificate: CaCertificate): Promise<void>;
}

/** Per-cluster gauges; `undefined` health means the members could not be read this time. */
export interface HealthObserver {
  /** `operation` is the status's: the roll's progress while one is under way. */
  observe(cluster: ZooKeeperCluster, health: EnsembleHealth | undefined, operation?: OperationStatus): void;
  /**
   * The cluster's certificates: the earliest expiry (undefined before the first is issued) and
   * whether a renewal is overdue; `undefined` without spec.tls.
   */
  observeCertificates?(
    cluster: ZooKeeperCluster,
    certificates: { earliestExpiry: Date | undefined; renewalOverdue: boolean } | undefined,
  ): void;
  /**
   * Where the members stand on each TLS ladder, as the status reports it (`status.tls`); a ladder
   * the status does not report (a plaintext cluster without spec.tls) has no series.
   */
  observeTlsPhase?(cluster: ZooKeeperCluster, phase: Pick<TlsStatus, 'quorum' | 'client'> | undefined): void;
  /** The cluster is gone (or being deleted): its series go too. */
  forget(namespace: string, name: string): void;
}

export interface ReconcilerDependencies {
  cache: ClusterCache;
  writer: ClusterWriter;
  events: Events;
  ensemble: EnsembleReader;
  membership: MembershipFactory;
  health?: HealthObserver;
  /** The certificate Secrets; clusters with spec.tls need it. */
  tls?: TlsSecretStore;
  /** The users' Secrets the spec names; clusters with spec.authentication.digestUsers need it. */
  userSecrets?: UserSecretReader;
  /** cert-manager's Certificates; clusters with spec.tls.certificates.issuerRef need it. */
  certManager?: CertManagerCertificates;
  /** The operator's client certificates, one per cluster CA: how it reads members that serve TLS. */
  credentials?: OperatorCredentials;
  /** The operator's own pods, admitted to the client port by each cluster's NetworkPolicy. */
  operatorPod?: OperatorPod;
  now: () => Date;
  /** How often to look again while anything is not perfect. */
  pollIntervalMs?: number;
  /** How often to look again when all is well (pod events trigger reconciles in between). */
  resyncIntervalMs?: number;
}
