/** ZooKeeperCluster helpers for integration and end-to-end tests (admin credentials). */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { API_GROUP, API_GROUP_VERSION, API_VERSION, KIND, PLURAL } from '../../src/api/constants.js';
import type { ZooKeeperCluster, ZooKeeperClusterSpec, ZooKeeperClusterStatus } from '../../src/api/types.js';
import { ZooKeeperSession } from '../../src/zookeeper/session.js';
import { controlPlane } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';

const group = { group: API_GROUP, version: API_VERSION, plural: PLURAL };

async function custom() {
  return (await controlPlane()).kubeConfig.makeApiClient(CustomObjectsApi);
}

export async function createCluster(
  namespace: string,
  name: string,
  spec: ZooKeeperClusterSpec,
): Promise<ZooKeeperCluster> {
  return (await (
    await custom()
  ).createNamespacedCustomObject({
    ...group,
    namespace,
    body: { apiVersion: API_GROUP_VERSION, kind: KIND, metadata: { name }, spec },
  })) as ZooKeeperCluster;
}

export async function readCluster(namespace: string, name: string): Promise<ZooKeeperCluster> {
  return (await (await custom()).getNamespacedCustomObject({ ...group, namespace, name })) as ZooKeeperCluster;
}

export async function patchCluster(namespace: string, name: string, patch: object): Promise<void> {
  await (await custom()).patchNamespacedCustomObject(
    { ...group, namespace, name, body: patch },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** `kubectl scale zk/NAME --replicas=N`: through the scale subresource. */
export async function scaleCluster(namespace: string, name: string, replicas: number): Promise<void> {
  await (await custom()).patchNamespacedCustomObjectScale(
    { ...group, namespace, name, body: { spec: { replicas } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** What `kubectl scale` and autoscalers see: the scale subresource. */
export async function readScale(
  namespace: string,
  name: string,
): Promise<{ spec: { replicas: number }; status: { replicas: number } }> {
  return (await (await custom()).getNamespacedCustomObjectScale({ ...group, namespace, name })) as {
    spec: { replicas: number };
    status: { replicas: number };
  };
}

export async function deleteCluster(namespace: string, name: string): Promise<void> {
  await (await custom()).deleteNamespacedCustomObject({ ...group, namespace, name });
}

/** Polls the cluster's status until `accept` returns true; returns that status. */
export async function waitForStatus(
  namespace: string,
  name: string,
  description: string,
  accept: (status: ZooKeeperClusterStatus, cluster: ZooKeeperCluster) => boolean,
  timeoutMs: number,
): Promise<ZooKeeperClusterStatus> {
  return pollUntil(
    `${namespace}/${name}: ${description}`,
    async () => {
      const cluster = await readCluster(namespace, name);
      const status = cluster.status;
      if (status !== undefined && accept(status, cluster)) return status;
      throw new Error(
        `status: ${JSON.stringify({ phase: status?.phase, ready: status?.ready, conditions: status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`) })}`,
      );
    },
    { timeoutMs, intervalMs: 250 },
  );
}

const conditionIs = (status: ZooKeeperClusterStatus, type: string, value: string) =>
  status.conditions?.some((c) => c.type === type && c.status === value) ?? false;

/** Running: Available, nothing degraded, every member on the desired revision and in sync. */
export function isRunning(status: ZooKeeperClusterStatus, cluster: ZooKeeperCluster): boolean {
  return (
    status.observedGeneration === cluster.metadata.generation &&
    status.phase === 'Running' &&
    conditionIs(status, 'Available', 'True') &&
    conditionIs(status, 'Degraded', 'False') &&
    status.currentRevision !== undefined &&
    status.currentRevision === status.targetRevision
  );
}

/**
 * Settled: Running, no operation under way, and every member serving and in sync with the
 * leader. From here an unchanged cluster gives the operator nothing to write, so a test that
 * counts writes waits for this state rather than for a pause in the writing.
 */
export function isSettled(status: ZooKeeperClusterStatus, cluster: ZooKeeperCluster): boolean {
  const members = status.members ?? [];
  return (
    isRunning(status, cluster) &&
    conditionIs(status, 'Progressing', 'False') &&
    status.operation === undefined &&
    status.readyReplicas === status.replicas &&
    status.readyObservers === status.observers &&
    members.length === (status.replicas ?? 0) + (status.observers ?? 0) &&
    members.every((member) => member.serving && member.synced)
  );
}

export async function memberPods(namespace: string, name: string): Promise<V1Pod[]> {
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${name}` });
  return list.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/**
 * `ip:port,…` of the Ready members, for a ZooKeeper client: what the client Service would route
 * to (the test has no Service networking, so it reaches pods by IP).
 */
export async function connectionString(namespace: string, name: string, clientPort = 2181): Promise<string> {
  const pods = await memberPods(namespace, name);
  return pods
    .filter(
      (pod) =>
        pod.status?.podIP &&
        pod.metadata?.deletionTimestamp === undefined &&
        (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    )
    .map((pod) => `${pod.status?.podIP}:${clientPort}`)
    .join(',');
}

/**
 * A client session with cluster `name` through its Ready members. Readiness can drop for a moment
 * on a loaded machine even on a settled cluster, so this waits up to a minute for a Ready member
 * instead of failing on an empty connection string.
 */
export async function openClusterSession(namespace: string, name: string): Promise<ZooKeeperSession> {
  const servers = await pollUntil(
    `a Ready member of ${name} to connect to`,
    async () => (await connectionString(namespace, name)) || undefined,
    { timeoutMs: 60_000 },
  );
  return ZooKeeperSession.open({ servers: servers.split(','), sessionTimeoutMs: 15_000, connectTimeoutMs: 30_000 });
}

/**
 * `reason: message` of the Events on cluster `name`, in creation order. Event timestamps have
 * one-second resolution, so the order comes from resourceVersion: opaque in general, but an
 * increasing etcd revision on this test control plane.
 */
export async function clusterEvents(namespace: string, name: string): Promise<string[]> {
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const events = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return events.items
    .sort((a, b) => Number(a.metadata?.resourceVersion ?? 0) - Number(b.metadata?.resourceVersion ?? 0))
    .map((e) => `${e.reason}: ${e.message}`);
}

/** How long a cluster may take to form, and to finish a roll, on a busy 2-core machine. */
export const FORMED_MS = 240_000;
export const ROLLED_MS = 420_000;
