/**
 * Default values of the ZooKeeperCluster spec and the function that resolves a user's spec
 * against them. The CRD schema publishes the same defaults (so `kubectl get -o yaml` shows
 * them), but the operator never relies on the API server having applied them and never
 * writes them back into the user's spec.
 */

import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { DEFAULT_IMAGE } from './constants.js';
import { parseDuration } from './duration.js';
import type {
  CertificatesSpec,
  ClientServiceType,
  ImagePullPolicy,
  IssuerReference,
  NetworkPeerSpec,
  PodOverrides,
  ReclaimPolicy,
  ZooKeeperClusterSpec,
} from './types.js';

export const DEFAULTS = {
  replicas: 3,
  observers: 0,
  includeObservers: true,
  image: DEFAULT_IMAGE,
  imagePullPolicy: 'IfNotPresent' as ImagePullPolicy,
  storageSize: '10Gi',
  reclaimPolicy: 'Retain' as ReclaimPolicy,
  ports: {
    client: 2181,
    secureClient: 2281,
    loopbackClient: 2182,
    quorum: 2888,
    election: 3888,
    admin: 8080,
    metrics: 7000,
  },
  clientServiceType: 'ClusterIP' as ClientServiceType,
  networkPolicyEnabled: true,
  clusterDomain: 'cluster.local',
  stepTimeoutSeconds: 600,
  leaderHandOff: false,
  terminationGracePeriodSeconds: 30,
  /** The official image's `zookeeper` user. */
  runAsUser: 1000,
  /** Heap when neither a memory limit nor a request is set (the official image uses 1000). */
  heapMiB: 1024,
  /** Share of the container memory given to the heap; the rest is metaspace, threads, buffers. */
  heapShareOfMemory: 0.5,
  /** Member certificates: 90 days; without `renewBefore`, replaced at two thirds of their life. */
  certificateLifetime: '2160h',
  /** The cluster CA: 5 years, replaced (with an overlap) at two thirds of its life. */
  caLifetime: '43800h',
  /** `spec.tls.certificates.issuerRef`: an Issuer in the cluster's namespace, of cert-manager's own group. */
  issuerKind: 'Issuer',
  issuerGroup: 'cert-manager.io',
} as const;

/** zoo.cfg values the operator sets unless the user overrides them in `spec.config`. */
export const DEFAULT_CONFIG: Readonly<Record<string, string>> = {
  'autopurge.purgeInterval': '1',
  'autopurge.snapRetainCount': '3',
  initLimit: '10',
  maxClientCnxns: '60',
  syncLimit: '5',
  tickTime: '2000',
};

export interface ResolvedPorts {
  client: number;
  secureClient: number;
  loopbackClient: number;
  quorum: number;
  election: number;
  admin: number;
  metrics: number;
}

/** A spec with every default applied: what rendering and every decision work from. */
export interface ResolvedSpec {
  replicas: number;
  observers: number;
  image: string;
  imagePullPolicy: ImagePullPolicy;
  resources: V1ResourceRequirements;
  heapMiB: number;
  extraJvmFlags: string[];
  storage:
    | { ephemeral: true }
    | { ephemeral: false; size: string; storageClassName?: string; reclaimPolicy: ReclaimPolicy };
  config: Record<string, string>;
  ports: ResolvedPorts;
  pod: PodOverrides;
  clientService: { type: ClientServiceType; annotations: Record<string, string>; includeObservers: boolean };
  /** Who may reach the members; an absent peer means any source. */
  networkPolicy:
    | { enabled: false }
    | { enabled: true; clients?: NetworkPeerSpec | undefined; monitoring?: NetworkPeerSpec | undefined };
  clusterDomain: string;
  paused: boolean;
  stepTimeoutSeconds: number;
  leaderHandOff: boolean;
  /** Absent when the spec has no `tls`: the operator issues no certificate for the cluster. */
  tls: ResolvedTls | undefined;
  /** The Secret of SASL DIGEST-MD5 users; absent when the spec names none (no SASL at all). */
  digestUsers: { secretName: string } | undefined;
}

/**
 * Where the CA that signs the members' certificates comes from: the operator creates and renews
 * its own; or it is the user's, in a Secret; or cert-manager issues and renews it from an issuer.
 */
export type CaSource =
  | { kind: 'operator' }
  | { kind: 'secret'; secretName: string }
  | { kind: 'issuer'; issuerRef: Required<IssuerReference> };

/** `spec.tls` resolved; durations in milliseconds. */
export interface ResolvedTls {
  certificates: { lifetimeMs: number; renewBeforeMs: number; caLifetimeMs: number; ca: CaSource };
  quorum: boolean;
  client: boolean;
  trustedClientCAs: { secretName: string } | undefined;
}

/** Resolves every optional field of a spec. Pure; the input is not modified. */
export function resolveSpec(spec: ZooKeeperClusterSpec): ResolvedSpec {
  const resources = spec.resources ?? {};
  const storage = spec.storage ?? {};
  return {
    replicas: spec.replicas ?? DEFAULTS.replicas,
    observers: spec.observers ?? DEFAULTS.observers,
    image: spec.image ?? DEFAULTS.image,
    imagePullPolicy: spec.imagePullPolicy ?? DEFAULTS.imagePullPolicy,
    resources,
    heapMiB: spec.jvm?.heapMiB ?? heapFromMemory(resources),
    extraJvmFlags: spec.jvm?.extraFlags ?? [],
    storage: storage.ephemeral
      ? { ephemeral: true }
      : {
          ephemeral: false,
          size: storage.size ?? DEFAULTS.storageSize,
          ...(storage.storageClassName === undefined ? {} : { storageClassName: storage.storageClassName }),
          reclaimPolicy: storage.reclaimPolicy ?? DEFAULTS.reclaimPolicy,
        },
    config: { ...DEFAULT_CONFIG, ...spec.config },
    ports: { ...DEFAULTS.ports, ...spec.ports },
    pod: spec.pod ?? {},
    clientService: {
      type: spec.clientService?.type ?? DEFAULTS.clientServiceType,
      annotations: spec.clientService?.annotations ?? {},
      includeObservers: spec.clientService?.includeObservers ?? DEFAULTS.includeObservers,
    },
    networkPolicy:
      (spec.networkPolicy?.enabled ?? DEFAULTS.networkPolicyEnabled)
        ? { enabled: true, clients: spec.networkPolicy?.clients, monitoring: spec.networkPolicy?.monitoring }
        : { enabled: false },
    clusterDomain: spec.clusterDomain ?? DEFAULTS.clusterDomain,
    paused: spec.paused ?? false,
    stepTimeoutSeconds: spec.rollingUpdate?.stepTimeoutSeconds ?? DEFAULTS.stepTimeoutSeconds,
    leaderHandOff: spec.rollingUpdate?.leaderHandOff ?? DEFAULTS.leaderHandOff,
    tls: spec.tls === undefined ? undefined : resolveTls(spec.tls),
    digestUsers:
      spec.authentication?.digestUsers === undefined
        ? undefined
        : { secretName: spec.authentication.digestUsers.secretName },
  };
}

/**
 * Certificate durations. Without `renewBefore`, a certificate is replaced at two thirds of its
 * life, whatever `lifetime` says (the default's 720h belongs to the default 2160h).
 */
export function resolveTls(tls: NonNullable<ZooKeeperClusterSpec['tls']>): ResolvedTls {
  const certificates = tls.certificates ?? {};
  const lifetimeMs = parseDuration(certificates.lifetime ?? DEFAULTS.certificateLifetime);
  return {
    certificates: {
      lifetimeMs,
      renewBeforeMs:
        certificates.renewBefore === undefined ? Math.floor(lifetimeMs / 3) : parseDuration(certificates.renewBefore),
      caLifetimeMs: parseDuration(certificates.caLifetime ?? DEFAULTS.caLifetime),
      ca: caSourceOf(certificates),
    },
    quorum: tls.quorum ?? false,
    client: tls.client ?? false,
    trustedClientCAs: tls.trustedClientCAs === undefined ? undefined : { secretName: tls.trustedClientCAs.secretName },
  };
}

function caSourceOf(certificates: CertificatesSpec): CaSource {
  if (certificates.caSecretName !== undefined) return { kind: 'secret', secretName: certificates.caSecretName };
  const issuerRef = certificates.issuerRef;
  if (issuerRef === undefined) return { kind: 'operator' };
  return {
    kind: 'issuer',
    issuerRef: {
      name: issuerRef.name,
      kind: issuerRef.kind ?? DEFAULTS.issuerKind,
      group: issuerRef.group ?? DEFAULTS.issuerGroup,
    },
  };
}

/** Half the container's memory limit (or request) in MiB, so the JVM's off-heap memory fits too. */
function heapFromMemory(resources: V1ResourceRequirements): number {
  const memory = resources.limits?.memory ?? resources.requests?.memory;
  if (memory === undefined) return DEFAULTS.heapMiB;
  const bytes = parseQuantity(String(memory));
  return Math.max(64, Math.floor((bytes * DEFAULTS.heapShareOfMemory) / (1024 * 1024)));
}

const QUANTITY_SUFFIXES: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * Parses a Kubernetes quantity (`512Mi`, `1G`, `1.5Gi`, `1e9`) into a number of base units.
 * Throws on anything else, naming the value: the schema should have rejected it already.
 */
export function parseQuantity(quantity: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(?:[eE]([0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$/.exec(quantity);
  if (!match) throw new Error(`"${quantity}" is not a Kubernetes quantity (expected e.g. 512Mi or 2Gi)`);
  const [, digits = '0', exponent, suffix = ''] = match;
  const factor = exponent === undefined ? (QUANTITY_SUFFIXES[suffix] ?? 1) : 10 ** Number(exponent);
  return Number(digits) * factor;
}
