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
import type { V1ConfigMap, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { type ResolvedSpec, resolveSpec } from '../api/defaults.js';
import type { ZooKeeperCluster } from '../api/types.js';
import type { DesiredObjects } from '../render/cluster.js';
import { DYNAMIC_CONFIG_KEY } from '../render/config-map.js';
import { objectNames } from '../render/names.js';
import type { OwnedObject } from '../runtime/kube-writer.js';
import type { EnsembleHealth } from '../zookeeper/health.js';
import { type ObservedCertificates, observeCertificates } from './certificate-secrets.js';
import type { OwnedKind, ReconcilerDependencies } from './dependencies.js';
import { readMembersWhereTheyListen } from './member-move-act.js';

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
  /** The certificate Secrets and what they say; only with spec.tls. */
  certificates?: ObservedCertificates | undefined;
  now: Date;
}

/** Reads the caches and the members into one snapshot of `cluster`. */
export async function observe(deps: ReconcilerDependencies, cluster: ZooKeeperCluster): Promise<ClusterSnapshot> {
  const { namespace, name } = cluster.metadata;
  const live: Partial<Record<ObjectField, OwnedObject>> = {};
  for (const field of OBJECT_FIELDS) {
    const { kind, name: objectName } = objectIdentity(cluster, field);
    const object = deps.cache.owned(kind, namespace, objectName);
    if (object !== undefined) live[field] = object;
  }
  const pods = deps.cache.memberPods(namespace, name);
  const spec = resolveSpec(cluster.spec);
  return {
    cluster,
    spec,
    live,
    pods,
    claims: deps.cache.claims(namespace, name),
    health: await readHealth(deps, cluster.metadata.name, spec, pods, live.configMap, false),
    ...(spec.tls === undefined ? {} : { certificates: observeCertificates(deps, cluster) }),
    now: deps.now(),
  };
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
  const health = await readHealth(deps, cluster.metadata.name, spec, pods, live.configMap, true);
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
): Promise<EnsembleHealth | undefined> {
  const renderedDynamic = (configMap as V1ConfigMap | undefined)?.data?.[DYNAMIC_CONFIG_KEY];
  return readMembersWhereTheyListen(deps, clusterName, spec, pods, renderedDynamic, fresh);
}
