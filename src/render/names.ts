/**
 * Names, labels and addresses of everything that belongs to one cluster. Derived from the
 * cluster's name and namespace only, so every module agrees on them.
 */
import { OPERATOR_NAME } from '../api/constants.js';

export interface ClusterRef {
  name: string;
  namespace: string;
}

export const objectNames = (cluster: ClusterRef) => ({
  statefulSet: cluster.name,
  headlessService: `${cluster.name}-headless`,
  clientService: `${cluster.name}-client`,
  configMap: `${cluster.name}-config`,
  /** The discovery ConfigMap applications read the connection strings from (`discovery.ts`). */
  connectionConfigMap: `${cluster.name}-connection`,
  podDisruptionBudget: cluster.name,
  networkPolicy: cluster.name,
  /** The super user's password (for reconfig) and its digest (for the members' JVM flag). */
  superUserSecret: `${cluster.name}-super-user`,
  /** The cluster CA's certificate and private key; the operator alone reads it (`tls-secrets.ts`). */
  caSecret: `${cluster.name}-ca`,
  /** Every member's key and certificate and the CA bundle they trust, for the pods to mount. */
  tlsSecret: `${cluster.name}-tls`,
});

/** The labels a cluster's pods are selected by. Never change them: StatefulSet selectors are immutable. */
export function selectorLabels(cluster: ClusterRef): Record<string, string> {
  return { 'app.kubernetes.io/instance': cluster.name, 'app.kubernetes.io/name': 'zookeeper' };
}

export type Component = 'server' | 'client' | 'config' | 'tls';

/** Labels on every object the operator creates for a cluster. */
export function commonLabels(cluster: ClusterRef, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/component': component,
    ...selectorLabels(cluster),
    'app.kubernetes.io/managed-by': OPERATOR_NAME,
  };
}

/** `key=value,…` form of the selector, as `status.selector` and the scale subresource want it. */
export function selectorString(cluster: ClusterRef): string {
  return Object.entries(selectorLabels(cluster))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

export const podName = (cluster: ClusterRef, ordinal: number): string => `${cluster.name}-${ordinal}`;

/** ZooKeeper server ids start at 1; pod ordinals at 0. */
export const myidOfOrdinal = (ordinal: number): number => ordinal + 1;
export const ordinalOfMyid = (myid: number): number => myid - 1;
/** The server ids of `count` members: 1..count. */
export const serverIdsUpTo = (count: number): number[] =>
  Array.from({ length: Math.max(count, 0) }, (_, ordinal) => myidOfOrdinal(ordinal));

/** The stable DNS name a member is reached by from its peers (the headless Service's per-pod record). */
export function memberHost(cluster: ClusterRef, ordinal: number, clusterDomain: string): string {
  return `${podName(cluster, ordinal)}.${objectNames(cluster).headlessService}.${cluster.namespace}.svc.${clusterDomain}`;
}

/** The client Service's DNS name, which every member behind it answers. */
export function clientServiceHost(cluster: ClusterRef, clusterDomain: string): string {
  return `${objectNames(cluster).clientService}.${cluster.namespace}.svc.${clusterDomain}`;
}
