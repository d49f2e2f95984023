/**
 * Names, labels and addresses of everything that belongs to one cluster. Derived from the
 * cluster's name and namespace only, so every module agrees on them.
 */
import { OBSERVER_ID_BASE, OPERATOR_NAME } from '../api/constants.js';

export interface ClusterRef {
  name: string;
  namespace: string;
}

export const objectNames = (cluster: ClusterRef) => ({
  statefulSet: cluster.name,
  /** The observers' StatefulSet: its own pod count, so `spec.replicas` and the scale subresource keep meaning voters. */
  observerStatefulSet: `${cluster.name}-observer`,
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
  /** With `tls.certificates.issuerRef`: the cert-manager Certificate of the cluster's CA (`cert-manager.ts`). */
  caCertificate: `${cluster.name}-ca`,
  /** Where cert-manager keeps that CA and its key. */
  issuedCaSecret: `${cluster.name}-issued-ca`,
  /** Every member's key and certificate and the CA bundle they trust, for the pods to mount. */
  tlsSecret: `${cluster.name}-tls`,
});

/** The labels a cluster's pods are selected by. Never change them: StatefulSet selectors are immutable. */
export function selectorLabels(cluster: ClusterRef): Record<string, string> {
  return { 'app.kubernetes.io/instance': cluster.name, 'app.kubernetes.io/name': 'zookeeper' };
}

/** `server`: a voter's pod and the objects of the quorum; `observer`: an observer's pod; `tls`: the certificate Secrets. */
export type Component = 'server' | 'observer' | 'client' | 'config' | 'tls';

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

/**
 * Members and their identities, one source for the whole operator: a voter is pod
 * `<cluster>-<ordinal>` with server id ordinal + 1 (1..MAX_REPLICAS); an observer is pod
 * `<cluster>-observer-<ordinal>` of the observer StatefulSet with server id
 * OBSERVER_ID_BASE + ordinal + 1. The ranges never meet, so a server id alone says which kind
 * of member it is and which pod runs it.
 */
export type MemberKind = 'voter' | 'observer';

export const isObserverId = (myid: number): boolean => myid > OBSERVER_ID_BASE;
export const memberKindOf = (myid: number): MemberKind => (isObserverId(myid) ? 'observer' : 'voter');

/** The StatefulSet ordinal of the member with server id `myid`, within its kind's StatefulSet. */
export const ordinalOfMyid = (myid: number): number => (isObserverId(myid) ? myid - OBSERVER_ID_BASE - 1 : myid - 1);
/** A voter's server id: ZooKeeper server ids start at 1, pod ordinals at 0. */
export const myidOfOrdinal = (ordinal: number): number => ordinal + 1;
export const observerIdOfOrdinal = (ordinal: number): number => OBSERVER_ID_BASE + ordinal + 1;
/** The server ids of `count` voters: 1..count. */
export const serverIdsUpTo = (count: number): number[] =>
  Array.from({ length: Math.max(count, 0) }, (_, ordinal) => myidOfOrdinal(ordinal));
/** The server ids of `count` observers: OBSERVER_ID_BASE+1..OBSERVER_ID_BASE+count. */
export const observerIdsUpTo = (count: number): number[] =>
  Array.from({ length: Math.max(count, 0) }, (_, ordinal) => observerIdOfOrdinal(ordinal));

/** A voter's pod name. */
export const podName = (cluster: ClusterRef, ordinal: number): string => `${cluster.name}-${ordinal}`;

/** The pod that runs server `myid`: a voter's or an observer's. */
export const podOfServerId = (cluster: ClusterRef, myid: number): string =>
  isObserverId(myid)
    ? `${objectNames(cluster).observerStatefulSet}-${ordinalOfMyid(myid)}`
    : podName(cluster, ordinalOfMyid(myid));

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Server id of a member pod (`<cluster>-<ordinal>` or `<cluster>-observer-<ordinal>`), or undefined for any other name. */
export function serverIdOfPod(clusterName: string, pod: string): number | undefined {
  const match = new RegExp(`^${escapeRegExp(clusterName)}-(observer-)?(0|[1-9]\\d*)$`).exec(pod);
  if (match === null) return undefined;
  const ordinal = Number(match[2]);
  return match[1] === undefined ? myidOfOrdinal(ordinal) : observerIdOfOrdinal(ordinal);
}

/** The stable DNS name server `myid` is reached by from its peers (the headless Service's per-pod record). */
export function memberHost(cluster: ClusterRef, myid: number, clusterDomain: string): string {
  return `${podOfServerId(cluster, myid)}.${objectNames(cluster).headlessService}.${cluster.namespace}.svc.${clusterDomain}`;
}

/** The client Service's DNS name, which every member behind it answers. */
export function clientServiceHost(cluster: ClusterRef, clusterDomain: string): string {
  return `${objectNames(cluster).clientService}.${cluster.namespace}.svc.${clusterDomain}`;
}
