/**
 * The ZooKeeperCluster resource as TypeScript types. The OpenAPI schema in `schema.ts` describes
 * the same shape for the API server; `test/unit/api/schema.test.ts` checks that they agree.
 * Optional fields are optional here because the user may omit them; `defaults.ts` resolves them.
 */
import type {
  V1Affinity,
  V1LabelSelector,
  V1LocalObjectReference,
  V1ObjectMeta,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';

export type ReclaimPolicy = 'Delete' | 'Retain';
export type ClientServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';
export type ImagePullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface StorageSpec {
  /** Keep data in an emptyDir: lost whenever a pod restarts. For throwaway clusters only. */
  ephemeral?: boolean;
  /** Size of each member's PersistentVolumeClaim, e.g. `10Gi`. */
  size?: string;
  /** StorageClass of the claims; the cluster default when omitted. */
  storageClassName?: string;
  /** What happens to a member's claim when the member is removed or the cluster deleted. */
  reclaimPolicy?: ReclaimPolicy;
}

export interface JvmSpec {
  /** Heap size in MiB; half the memory limit (or request) when omitted, 1024 without either. */
  heapMiB?: number;
  /** Extra JVM flags appended after the operator's own. */
  extraFlags?: string[];
}

export interface PortsSpec {
  client?: number;
  /** The TLS client port, served while `tls.client` is on (or on its way off). */
  secureClient?: number;
  /** The plaintext client port on each pod's loopback once clients use TLS only, for the member's own probes. */
  loopbackClient?: number;
  quorum?: number;
  election?: number;
  admin?: number;
  metrics?: number;
}

export interface PodOverrides {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  affinity?: V1Affinity;
  topologySpreadConstraints?: V1TopologySpreadConstraint[];
  priorityClassName?: string;
  securityContext?: V1PodSecurityContext;
  serviceAccountName?: string;
  imagePullSecrets?: V1LocalObjectReference[];
  terminationGracePeriodSeconds?: number;
}

export interface ClientServiceSpec {
  type?: ClientServiceType;
  annotations?: Record<string, string>;
  /** Whether the client Service (and the discovery ConfigMap's member list) includes the observers (default true). */
  includeObservers?: boolean;
}

export interface RollingUpdateSpec {
  /** How long one member may take to come back in sync before the roll stops and reports it. */
  stepTimeoutSeconds?: number;
  /**
   * Move leadership away by reconfig before the leader restarts, instead of letting its restart
   * cost an election. Needs three or more voters; smaller ensembles restart the leader plainly.
   */
  leaderHandOff?: boolean;
}

/**
 * Sources of traffic, with NetworkPolicy peer semantics: both selectors given select the
 * matching pods in the matching namespaces; `podSelector` alone selects pods in the cluster's
 * namespace; `namespaceSelector` alone every pod in the matching namespaces.
 */
export interface NetworkPeerSpec {
  namespaceSelector?: V1LabelSelector;
  podSelector?: V1LabelSelector;
}

export interface NetworkPolicySpec {
  /** Render a NetworkPolicy that admits only the traffic the ensemble needs (default true). */
  enabled?: boolean;
  /** Who may reach the client port; any source when omitted. */
  clients?: NetworkPeerSpec;
  /** Who may reach the metrics port; any source when omitted. */
  monitoring?: NetworkPeerSpec;
}

/** A cert-manager Issuer or ClusterIssuer, named as cert-manager's own `issuerRef` names one. */
export interface IssuerReference {
  name: string;
  /** `Issuer` (in the cluster's namespace; the default) or `ClusterIssuer`. */
  kind?: 'Issuer' | 'ClusterIssuer';
  /** The issuer's API group (default `cert-manager.io`; an external issuer has its own). */
  group?: string;
}

/**
 * How the members' certificates are issued (`controller/certificates.ts`): by the operator, under a
 * CA that is its own (default), the user's (`caSecretName`), or issued by cert-manager (`issuerRef`).
 */
export interface CertificatesSpec {
  /** A Secret holding the user's CA (`tls.crt`, `tls.key`): it signs the members' certificates. */
  caSecretName?: string;
  /** cert-manager issues the cluster's CA from this issuer (a `Certificate` the operator requests). */
  issuerRef?: IssuerReference;
  /** How long a member certificate is valid, as hours, minutes, seconds: `2160h`, `1h30m`. */
  lifetime?: string;
  /** How long before its expiry a member certificate is replaced. Less than `lifetime`. */
  renewBefore?: string;
  /** How long the cluster's CA is valid; it is replaced, with an overlap, at two thirds of that. */
  caLifetime?: string;
}

/**
 * TLS for the ensemble. Present: the operator runs a CA for the cluster and keeps every member's
 * certificate current in Secrets. `quorum` and `client` switch each kind of traffic to TLS on a
 * running ensemble, one rolling phase at a time (`src/controller/tls-phase.ts`).
 */
export interface TlsSpec {
  certificates?: CertificatesSpec;
  /** Members talk to each other (quorum and leader election) over TLS only (default false). */
  quorum?: boolean;
  /** Clients connect over TLS to `ports.secureClient`, with a certificate of the cluster CA (default false). */
  client?: boolean;
  /** A Secret whose `ca.crt` holds more CAs whose client certificates members accept (the user's own PKI). */
  trustedClientCAs?: { secretName: string };
}

/** Users of SASL DIGEST-MD5 (`sasl:<user>` in ACLs), from a Secret in the cluster's namespace. */
export interface DigestUsersSpec {
  /** Each key is a user name, its value the user's password. */
  secretName: string;
}

/**
 * How clients prove who they are. ZooKeeper's super user is the operator's alone (its digest
 * from the operator's own Secret): no user named here is ever a super user.
 */
export interface AuthenticationSpec {
  digestUsers?: DigestUsersSpec;
}

export interface ZooKeeperClusterSpec {
  /** Voting members. */
  replicas?: number;
  /** Non-voting members (observers): they serve reads and follow every write without voting (default 0). */
  observers?: number;
  image?: string;
  imagePullPolicy?: ImagePullPolicy;
  resources?: V1ResourceRequirements;
  jvm?: JvmSpec;
  storage?: StorageSpec;
  /** zoo.cfg overrides; keys the operator manages are rejected. */
  config?: Record<string, string>;
  ports?: PortsSpec;
  pod?: PodOverrides;
  clientService?: ClientServiceSpec;
  networkPolicy?: NetworkPolicySpec;
  clusterDomain?: string;
  paused?: boolean;
  rollingUpdate?: RollingUpdateSpec;
  tls?: TlsSpec;
  authentication?: AuthenticationSpec;
}

/** The metav1.Condition shape. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type MemberRole = 'leader' | 'follower' | 'observer' | 'standalone' | 'read-only' | 'unknown';

/** One member as a user acts on it; its zxid moves with every write, so it is a metric instead. */
export interface MemberStatus {
  pod: string;
  myid: number;
  role: MemberRole;
  serving: boolean;
  voting: boolean;
  synced: boolean;
}

export interface QuorumStatus {
  /** Voters in the committed configuration. */
  size: number;
  /** The leader plus the voting followers that finished syncing. */
  syncedVoters: number;
  /** How many more voters may fail before the ensemble loses quorum (negative: no quorum). */
  faultTolerance: number;
}

export interface OperationStatus {
  kind: 'RollingRestart' | 'ScaleUp' | 'ScaleDown' | 'AddObservers' | 'RemoveObservers';
  /** The member acted on now. */
  member?: string;
  /** What the step waits for. */
  waitingFor?: string;
  startedAt?: string;
  done?: number;
  total?: number;
}

/** One certificate the operator keeps, as observed. */
export interface CertificateStatus {
  /** `ca`, `previous-ca` (while a CA rollover overlaps), or the member pod's name. */
  name: string;
  /** The Secret holding it. */
  secret: string;
  notAfter: string;
  /** When the operator replaces it. */
  renewAt: string;
}

export interface TlsStatus {
  certificates?: CertificateStatus[];
  /** Where member-to-member traffic stands on the way to TLS (`QUORUM_TLS_PHASES`), as the member pods show. */
  quorum?: string;
  /** Where client traffic stands on the way to TLS (`CLIENT_TLS_PHASES`), as the pods and the committed config show. */
  client?: string;
}

export interface ZooKeeperClusterStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  /** Observer pods that exist. */
  observers?: number;
  /** Observers that serve in sync with the leader. */
  readyObservers?: number;
  /** `ready/desired` voters, then `+ready/desired` observers when there are any: `3/3`, `3/3+2/2`, for `kubectl get`. */
  ready?: string;
  selector?: string;
  phase?: string;
  conditions?: Condition[];
  leader?: string;
  members?: MemberStatus[];
  quorum?: QuorumStatus;
  /** The committed dynamic-config version (hex, as in `/zookeeper/config`). */
  configVersion?: string;
  currentVersion?: string;
  targetVersion?: string;
  currentRevision?: string;
  targetRevision?: string;
  clientConnectionString?: string;
  operation?: OperationStatus;
  tls?: TlsStatus;
}

export interface ZooKeeperCluster {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: ZooKeeperClusterSpec;
  status?: ZooKeeperClusterStatus;
}
