/**
 * ZooKeeperCluster → every Kubernetes object its ensemble needs. Pure and deterministic: the
 * same input renders byte-identical objects (checked by property tests), so applying them
 * again is a no-op and the revision hash only moves when something that needs a restart did.
 */
import type {
  V1ConfigMap,
  V1OwnerReference,
  V1Pod,
  V1PodDisruptionBudget,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { API_GROUP_VERSION, KIND, RESTART_ANNOTATION, REVISION_ANNOTATION } from '../api/constants.js';
import { type ResolvedPorts, type ResolvedSpec, resolveSpec } from '../api/defaults.js';
import { clientOnLoopback, servesSecureClientPort, type TlsPhase, targetTlsPhase } from '../api/tls-phases.js';
import type { ZooKeeperCluster } from '../api/types.js';
import { canonicalHash } from './canonical-json.js';
import {
  configMapData,
  DYNAMIC_CONFIG_KEY,
  projectedKeys,
  type RevisionFiles,
  revisionFilesHash,
} from './config-map.js';
import { renderConnectionData } from './discovery.js';
import {
  type ClusterRef,
  commonLabels,
  isObserverId,
  type MemberKind,
  objectNames,
  selectorLabels,
  serverIdsUpTo,
} from './names.js';
import { type NetworkPolicyObject, type OperatorPod, renderNetworkPolicySpec } from './network-policy.js';
import { renderPodTemplate } from './pod-template.js';
import { LOGBACK_XML, renderProbeScript, renderStartScript } from './scripts.js';
import { renderDynamicConfig, renderStaticConfig } from './zoo-cfg.js';

export interface RenderInput {
  cluster: ZooKeeperCluster;
  /**
   * Server ids of the committed members (voters and observers), listed in the dynamic config new
   * pods start with. Defaults to 1..spec.replicas; the scaling logic passes the membership
   * ZooKeeper committed.
   */
  members?: readonly number[];
  /** Member pods the StatefulSet keeps; defaults to spec.replicas (scaling moves it one at a time). */
  podCount?: number;
  /**
   * Observer pods the observer StatefulSet keeps; undefined renders none (a cluster that never
   * asked for observers has no observer StatefulSet). The observer planner moves it one at a time.
   */
  observerPodCount?: number | undefined;
  /** The size of the live observer StatefulSet's data claim template, which cannot change; defaults to spec.storage.size. */
  observerClaimSize?: string | undefined;
  /** True until the ensemble first forms: only then may members with empty volumes vote. */
  bootstrap: boolean;
  /**
   * The size of the data claim template; defaults to spec.storage.size. A live StatefulSet's
   * claim template cannot change, so the storage-resize steps keep its size until they recreate it.
   */
  claimSize?: string | undefined;
  /** The operator's own pods, admitted to the client port by the NetworkPolicy; unknown out of cluster. */
  operatorPod?: OperatorPod | undefined;
  /** The live ConfigMap's data: the files of revisions live members still run are kept from it. */
  liveConfigMap?: Readonly<Record<string, string>> | undefined;
  /** The live member pods: the ConfigMap keeps every revision's files one of them projects. */
  livePods?: readonly V1Pod[];
  /**
   * Members whose committed line is not yet the one spec renders (a change of ports or domain
   * under way), by server id: the dynamic config keeps their committed line, so a member that
   * restarts starts where its peers look for it, and the client Service and NetworkPolicy keep
   * the ports they still listen on.
   */
  pendingMoves?: ReadonlyMap<number, PendingMove> | undefined;
  /** The CA bundle members present certificates of (`NAME-tls`'s `ca.crt`), published for TLS clients. */
  clientCaBundle?: string | undefined;
  /** The TLS rungs to render (`controller/tls-phase.ts`); defaults to spec's target, where a new cluster starts. */
  tls?: TlsPhase | undefined;
  /**
   * The fingerprint of the SASL users' Secret (`controller/digest-users.ts`), with
   * spec.authentication.digestUsers: a new one rolls the members, who read their users at start.
   */
  digestUsersFingerprint?: string | undefined;
}

/** Where a member waiting to move listens now: its committed line and its ports. */
export interface PendingMove {
  line: string;
  client: number;
  /** Its plaintext client port is on the pod's loopback: no client reaches it there. */
  clientOnLoopback: boolean;
  quorum: number;
  election: number;
}

export interface DesiredObjects {
  /** Hash of everything that takes a restart to take effect; pods carrying another one are outdated. */
  revision: string;
  configMap: V1ConfigMap;
  headlessService: V1Service;
  clientService: V1Service;
  statefulSet: V1StatefulSet;
  podDisruptionBudget: V1PodDisruptionBudget;
  /** The discovery ConfigMap applications read the connection strings from (`discovery.ts`). */
  connectionConfigMap: V1ConfigMap;
  /** Absent when `spec.networkPolicy.enabled` is false. */
  networkPolicy?: NetworkPolicyObject;
  /** The observers' StatefulSet; absent while the cluster has never asked for observers. */
  observerStatefulSet?: V1StatefulSet;
}

/**
 * What takes a restart to take effect, and its hash: the revision pods of this spec carry. The
 * template names its files by their content's hash, so it covers them too.
 */
function restartParts(cluster: ZooKeeperCluster, tls: TlsPhase, digestUsersFingerprint: string | undefined) {
  const ref: ClusterRef = { name: cluster.metadata.name, namespace: cluster.metadata.namespace };
  const spec = resolveSpec(cluster.spec);
  const restart = {
    restartedAt: cluster.metadata.annotations?.[RESTART_ANNOTATION],
    digestUsers: digestUsersFingerprint,
  };
  const filesOf = (kind: MemberKind): RevisionFiles => ({
    'logback.xml': LOGBACK_XML,
    'probe.sh': renderProbeScript(tls),
    'start.sh': renderStartScript(ref, spec, tls, kind),
    'zoo.cfg': renderStaticConfig(ref, spec, tls),
  });
  const files = filesOf('voter');
  const podTemplate = renderPodTemplate(ref, spec, revisionFilesHash(files), tls, restart);
  // An observer's template follows from the same spec as a voter's, with its own start script:
  // the voters' revision names both, so one spec change rolls every member.
  const observerFiles = filesOf('observer');
  const observerTemplate = renderPodTemplate(ref, spec, revisionFilesHash(observerFiles), tls, restart, 'observer');
  return { files, podTemplate, observerFiles, observerTemplate, revision: canonicalHash(podTemplate) };
}

/**
 * The revision member pods of this spec carry on TLS rung `tls` (spec's target by default: where
 * a new cluster starts) with the SASL users of `digestUsersFingerprint`; pods with another one are outdated.
 */
export function desiredRevision(
  cluster: ZooKeeperCluster,
  tls: TlsPhase = targetTlsPhase(resolveSpec(cluster.spec).tls),
  digestUsersFingerprint?: string,
): string {
  return restartParts(cluster, tls, digestUsersFingerprint).revision;
}

export function renderCluster(input: RenderInput): DesiredObjects {
  const { cluster } = input;
  const ref: ClusterRef = { name: cluster.metadata.name, namespace: cluster.metadata.namespace };
  const spec = resolveSpec(cluster.spec);
  const names = objectNames(ref);
  const owner = ownerReference(cluster);
  const meta = (name: string, component: 'server' | 'client' | 'config') => ({
    name,
    namespace: ref.namespace,
    labels: commonLabels(ref, component),
    ownerReferences: [owner],
  });

  const tls = input.tls ?? targetTlsPhase(spec.tls);
  const { files, podTemplate, observerFiles, observerTemplate, revision } = restartParts(
    cluster,
    tls,
    input.digestUsersFingerprint,
  );
  for (const template of [podTemplate, observerTemplate]) {
    template.metadata = {
      ...template.metadata,
      annotations: { ...template.metadata?.annotations, [REVISION_ANNOTATION]: revision },
    };
  }
  const members = input.members ?? serverIdsUpTo(spec.replicas);
  const { observerPodCount } = input;
  // Observer pods read their own start script; it is kept while the spec asks for observers or any run.
  const withObservers = spec.observers > 0 || (observerPodCount ?? 0) > 0;
  const { networkPolicy } = spec;
  const shared = {
    bootstrap: String(input.bootstrap),
    [DYNAMIC_CONFIG_KEY]: renderDynamicConfig(ref, members, spec, input.pendingMoves, clientOnLoopback(tls)),
  };

  return {
    revision,
    configMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(names.configMap, 'config'),
      data: configMapData({
        files,
        observerFiles: withObservers ? observerFiles : undefined,
        shared,
        live: input.liveConfigMap,
        projected: (input.livePods ?? []).map((pod) => projectedKeys(pod, names.configMap)),
      }),
    },
    headlessService: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(names.headlessService, 'server'),
      spec: {
        clusterIP: 'None',
        // Peers must resolve each other before they are Ready: readiness needs a quorum.
        publishNotReadyAddresses: true,
        selector: selectorLabels(ref),
        ports: [
          { name: 'client', port: spec.ports.client, targetPort: 'client' },
          ...secureClientServicePort(spec.ports, tls),
          { name: 'quorum', port: spec.ports.quorum, targetPort: 'quorum' },
          { name: 'election', port: spec.ports.election, targetPort: 'election' },
          { name: 'metrics', port: spec.ports.metrics, targetPort: 'metrics' },
        ],
      },
    },
    clientService: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        ...meta(names.clientService, 'client'),
        ...(Object.keys(spec.clientService.annotations).length > 0
          ? { annotations: spec.clientService.annotations }
          : {}),
      },
      spec: {
        type: spec.clientService.type,
        // Voters' pods are the `server` component, observers' the `observer` one.
        selector: spec.clientService.includeObservers ? selectorLabels(ref) : commonSelector(ref, 'server'),
        ports: clientServicePorts(spec.ports, input.pendingMoves, tls),
      },
    },
    statefulSet: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta(names.statefulSet, 'server'),
      spec: {
        replicas: input.podCount ?? spec.replicas,
        serviceName: names.headlessService,
        selector: { matchLabels: selectorLabels(ref) },
        // Members start together (a quorum needs several), and restart only when the operator deletes them.
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'OnDelete' },
        ...persistence(ref, spec, input.claimSize, 'voter'),
        template: podTemplate,
      },
    },
    ...(observerPodCount === undefined
      ? {}
      : {
          observerStatefulSet: {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            metadata: meta(names.observerStatefulSet, 'server'),
            spec: {
              replicas: observerPodCount,
              // The same headless Service: observers are peers, reached by the same kind of name.
              serviceName: names.headlessService,
              selector: { matchLabels: commonSelector(ref, 'observer') },
              podManagementPolicy: 'Parallel',
              updateStrategy: { type: 'OnDelete' },
              ...persistence(ref, spec, input.observerClaimSize, 'observer'),
              template: observerTemplate,
            },
          },
        }),
    // The operator restarts members through the Eviction API, so this budget arbitrates between
    // its roll and a node drain: one member down at a time, whoever takes it. `maxUnavailable`
    // counts from the StatefulSet's replicas, so a member that is missing or still joining uses
    // the budget up too. An unready member may always be evicted: it is down already and counts
    // against nothing, and that is the member a roll restarts first (stuck on a bad revision)
    // even while the budget is spent; the default (`IfHealthyBudget`) would refuse that then.
    podDisruptionBudget: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(names.podDisruptionBudget, 'server'),
      spec: {
        maxUnavailable: 1,
        selector: { matchLabels: selectorLabels(ref) },
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    },
    connectionConfigMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(names.connectionConfigMap, 'client'),
      data: renderConnectionData(
        ref,
        spec,
        members.filter((myid) => spec.clientService.includeObservers || !isObserverId(myid)),
        new Map([...(input.pendingMoves ?? [])].map(([myid, move]) => [myid, move.client])),
        servesSecureClientPort(tls)
          ? { tls: tls.client === 'tls-only' ? 'only' : 'beside', caBundle: input.clientCaBundle }
          : { tls: 'none' },
      ),
    },
    ...(networkPolicy.enabled
      ? {
          networkPolicy: {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: meta(names.networkPolicy, 'server'),
            spec: renderNetworkPolicySpec(
              ref,
              {
                ports: spec.ports,
                pendingMoves: [...(input.pendingMoves?.values() ?? [])],
                secureClient: servesSecureClientPort(tls),
              },
              networkPolicy,
              input.operatorPod,
            ),
          },
        }
      : {}),
  };
}

/**
 * The client Service's ports: spec's, plus each client port a member waiting to move still
 * listens on, so clients that connect to the old port keep working until every member moved.
 * All target the pod's named `client` port, which each pod's template declares where that
 * member listens (a member moves right after its pod restarted with the new template, and is
 * not Ready in between). Once clients use TLS only, spec's plaintext port stays only while a
 * member still serves it (waiting to move onto loopback); the TLS client port once members serve it.
 */
function clientServicePorts(
  ports: Pick<ResolvedPorts, 'client' | 'secureClient'>,
  pendingMoves: ReadonlyMap<number, PendingMove> | undefined,
  tls: TlsPhase,
) {
  const { client } = ports;
  const reachable = [...(pendingMoves?.values() ?? [])].filter((m) => !m.clientOnLoopback).map((m) => m.client);
  const plaintext = tls.client === 'tls-only' ? reachable : [client, ...reachable];
  return [
    ...[...new Set(plaintext)]
      .sort((a, b) => (a === client ? -1 : b === client ? 1 : a - b))
      .map((port) => ({ name: port === client ? 'client' : `client-${port}`, port, targetPort: 'client' })),
    ...secureClientServicePort(ports, tls),
  ];
}

const secureClientServicePort = (ports: Pick<ResolvedPorts, 'secureClient'>, tls: TlsPhase) =>
  servesSecureClientPort(tls) ? [{ name: 'secure-client', port: ports.secureClient, targetPort: 'secure-client' }] : [];

export function ownerReference(cluster: ZooKeeperCluster): V1OwnerReference {
  if (!cluster.metadata.uid) {
    throw new Error(
      `cluster ${cluster.metadata.namespace}/${cluster.metadata.name} has no uid: render it as read from the API`,
    );
  }
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    name: cluster.metadata.name,
    uid: cluster.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The labels that select one kind of member's pods: the cluster's selector plus the component. */
function commonSelector(ref: ClusterRef, component: 'server' | 'observer'): Record<string, string> {
  return { ...selectorLabels(ref), 'app.kubernetes.io/component': component };
}

function persistence(
  ref: ClusterRef,
  spec: ResolvedSpec,
  claimSize: string | undefined,
  kind: MemberKind,
): Pick<NonNullable<V1StatefulSet['spec']>, 'volumeClaimTemplates' | 'persistentVolumeClaimRetentionPolicy'> {
  if (spec.storage.ephemeral) return {};
  const { storageClassName, reclaimPolicy } = spec.storage;
  const size = claimSize ?? spec.storage.size;
  return {
    // Voters: scale-down claims are handled by the operator after the member has left the quorum.
    // Observers: an observer's data is a copy of committed history that the leader can always
    // send again, so its claim goes with its pod once it has left the config.
    persistentVolumeClaimRetentionPolicy: {
      whenDeleted: reclaimPolicy,
      whenScaled: kind === 'voter' ? 'Retain' : 'Delete',
    },
    volumeClaimTemplates: [
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        // Labelled like the pods, so the operator's claim informer sees members' claims.
        metadata: { name: 'data', labels: commonLabels(ref, kind === 'voter' ? 'server' : 'observer') },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(storageClassName === undefined ? {} : { storageClassName }),
          resources: { requests: { storage: size } },
        },
      },
    ],
  };
}
