/**
 * The operator at rest, counted on the real control plane: many clusters that have nothing left
 * to do make no write at all, also for an operator whose caches were filled by a LIST (a
 * restart, a relist) rather than by watch events; and a namespace being deleted is left alone.
 * Members are kept unscheduled by a node selector no node matches, so these clusters cost no
 * ZooKeeper processes (kube-scheduler leaves their pods Pending).
 */
import {
  type ApiConstructor,
  type ApiType,
  AppsV1Api,
  CoreV1Api,
  NetworkingV1Api,
  PolicyV1Api,
} from '@kubernetes/client-node';
import test from 'ava';
import type { RunningOperator } from '../../src/operator.js';
import type { ApiRequest } from '../../src/runtime/api-client.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import { createCluster, readCluster } from '../support/clusters.js';
import { runOperator } from '../support/operator.js';

/** A zone no node of the control plane is in (they are zone-a, zone-b and zone-c). */
const NOWHERE = { 'topology.kubernetes.io/zone': 'zone-nowhere' };
const CLUSTERS = 20;

/** An API client with the control plane's admin credentials. */
const admin = async <T extends ApiType>(api: ApiConstructor<T>): Promise<T> =>
  (await controlPlane()).kubeConfig.makeApiClient(api);

const names = (count: number) => Array.from({ length: count }, (_, i) => `c${i}`);

async function createUnscheduledClusters(namespace: string, count: number): Promise<void> {
  for (const name of names(count))
    await createCluster(namespace, name, { replicas: 3, pod: { nodeSelector: NOWHERE } });
}

/**
 * Every child of every cluster exists, every member pod was judged by kube-scheduler (Pending,
 * PodScheduled False: Unschedulable), and every cluster's status reports its current generation.
 * From here on nothing changes, so a cluster's next reconcile writes its last status.
 */
async function allCreated(namespace: string, count: number): Promise<void> {
  const [core, apps, policy, networking] = [
    await admin(CoreV1Api),
    await admin(AppsV1Api),
    await admin(PolicyV1Api),
    await admin(NetworkingV1Api),
  ];
  await pollUntil(
    `the children and status of ${count} clusters in ${namespace}`,
    async () => {
      const found = [
        (await core.listNamespacedConfigMap({ namespace })).items.length,
        (await core.listNamespacedService({ namespace })).items.length / 2,
        (await apps.listNamespacedStatefulSet({ namespace })).items.length,
        (await policy.listNamespacedPodDisruptionBudget({ namespace })).items.length,
        (await networking.listNamespacedNetworkPolicy({ namespace })).items.length,
      ];
      if (found.some((n) => n < count)) throw new Error(`children per kind: ${found.join(', ')}`);
      const unschedulable = (await core.listNamespacedPod({ namespace })).items.filter((pod) =>
        pod.status?.conditions?.some(
          (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
        ),
      );
      if (unschedulable.length < 3 * count) throw new Error(`${unschedulable.length} member pods judged unschedulable`);
      for (const name of names(count)) {
        const cluster = await readCluster(namespace, name);
        if (cluster.status?.observedGeneration !== cluster.metadata.generation)
          throw new Error(`${name}: no status yet`);
      }
      return true;
    },
    { timeoutMs: 180_000, intervalMs: 1_000 },
  );
}

async function reconciles(operator: RunningOperator): Promise<number> {
  const { values } = await operator.metrics.reconcileTotal.get();
  return values.reduce((sum, { value }) => sum + value, 0);
}

/** Waits until `operator` has finished `count` more reconciles (whatever their result). */
async function reconcilesMore(operator: RunningOperator, count: number): Promise<void> {
  const target = (await reconciles(operator)) + count;
  await pollUntil(`${count} more reconciles`, async () => ((await reconciles(operator)) >= target ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 200,
  });
}

const writesIn = (requests: readonly ApiRequest[]) => requests.filter((request) => request.method !== 'GET');
const describe = (requests: readonly ApiRequest[]) =>
  requests.map((request) => `${request.method} ${request.path.split('?')[0]} ${request.status}`);

/** Stops an operator `runOperator` started, before the test ends; its teardown then finds it stopped. */
async function stopEarly(operator: RunningOperator): Promise<void> {
  const stopped = operator.stop();
  operator.stop = () => stopped;
  await stopped;
}

test(`${CLUSTERS} settled clusters make no writes, also for an operator that started over them (caches from a LIST)`, async (t) => {
  const namespace = await newNamespace(t);
  const first = await runOperator(t, namespace);
  await createUnscheduledClusters(namespace, CLUSTERS);
  await allCreated(namespace, CLUSTERS);
  // Unscheduled members keep each cluster polled every 2 s: two more rounds, in which each writes
  // its last status; then three rounds to count.
  await reconcilesMore(first.operator, 2 * CLUSTERS);
  const settledAt = first.requests.length;
  await reconcilesMore(first.operator, 3 * CLUSTERS);
  const steadyWrites = writesIn(first.requests.slice(settledAt));
  t.log(`first operator, settled: ${steadyWrites.length} writes in ${3 * CLUSTERS} reconciles`);
  t.deepEqual(describe(steadyWrites), []);

  await stopEarly(first.operator);
  const second = await runOperator(t, namespace);
  await reconcilesMore(second.operator, 3 * CLUSTERS);
  const restartWrites = writesIn(second.requests);
  t.log(`operator started over them: ${restartWrites.length} writes in its first ${3 * CLUSTERS} reconciles`);
  t.deepEqual(describe(restartWrites), []);
  t.deepEqual(
    second.logger.lines.filter((line) => /^(updated|created) /.test(line.message)).map((line) => line.message),
    [],
  );
});

test('a namespace being deleted is left alone: nothing re-created, no Event, no error, nothing after the refusal', async (t) => {
  const count = 3;
  const namespace = await newNamespace(t);
  const { requests, logger, operator } = await runOperator(t, namespace);
  await createUnscheduledClusters(namespace, count);
  await allCreated(namespace, count);
  await reconcilesMore(operator, 2 * count);
  const deletionBegan = requests.length;
  const linesBefore = logger.lines.length;

  const core = await admin(CoreV1Api);
  await core.deleteNamespace({ name: namespace });
  await pollUntil(
    `namespace ${namespace} to be gone`,
    async () => {
      const found = await core.readNamespace({ name: namespace }).catch((error: { code?: number }) => {
        if (error.code === 404) return undefined;
        throw error;
      });
      return found === undefined ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );

  const writes = writesIn(requests.slice(deletionBegan));
  t.log(`after the deletion began: ${writes.length} writes`, describe(writes));
  t.deepEqual(
    describe(writes.filter((write) => write.method === 'POST')),
    [],
    'no Event (nor any other create by POST)',
  );
  const childWrites = writes.filter((write) => !write.path.includes('/zookeeperclusters/'));
  t.deepEqual(describe(childWrites.filter((write) => write.status !== 403)), [], 'no child re-created or changed');
  // The refusal is the evidence: at most one per cluster, and nothing at all for that cluster after it.
  const refusedCreates = childWrites;
  const refusedClusters = refusedCreates.map(clusterOf);
  t.deepEqual([...new Set(refusedClusters)].sort(), [...refusedClusters].sort(), 'one refused create per cluster');
  for (const refusal of refusedCreates) {
    const cluster = clusterOf(refusal);
    const after = writes.slice(writes.indexOf(refusal) + 1).filter((write) => clusterOf(write) === cluster);
    t.deepEqual(describe(after), [], `${cluster} is left alone once its create was refused`);
  }
  const lines = logger.lines.slice(linesBefore).filter((line) => line.level !== 'debug');
  t.deepEqual(
    lines.filter((line) => line.level !== 'info').map((line) => line.message),
    [],
    'no warning, no error',
  );
  t.deepEqual(
    lines.map((line) => line.message).sort(),
    refusedClusters
      .map((cluster) => `namespace ${namespace} is being deleted: leaving cluster ${cluster} alone`)
      .sort(),
  );
});

/** The cluster a write was for: the cluster itself (`c1`, `c1/status`) or a child named after it (`c1-config`). */
function clusterOf(request: ApiRequest): string {
  return (
    /\/(?:zookeeperclusters|configmaps|services|statefulsets|poddisruptionbudgets|networkpolicies)\/(c\d+)/.exec(
      request.path,
    )?.[1] ?? '?'
  );
}
