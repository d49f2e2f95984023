/**
 * Growing `storage.size` end to end: the member claims grow online, the StatefulSet is
 * recreated around its running pods (its claim template is immutable), no member restarts, no
 * write is lost, and a member added afterwards gets a claim of the new size. A claim whose
 * StorageClass does not allow expansion is reported, not forced.
 *
 * The process kubelet grows a bound claim as a CSI driver would, online or (with a class
 * parameter) only when a pod mounts the volume again; the API server's PersistentVolumeClaimResize
 * admission decides, from the StorageClass, whether a claim may grow at all. A driver that grows
 * file systems only at mount time makes the operator restart each member once, through the
 * rolling restart: followers first, the leader last.
 */
import { AppsV1Api, CoreV1Api, StorageV1Api, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import type { ZooKeeperClusterStatus } from '../../src/api/types.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import {
  clusterEvents,
  connectionString,
  createCluster,
  FORMED_MS,
  isRunning,
  memberPods,
  patchCluster,
  ROLLED_MS,
  waitForStatus,
} from '../support/clusters.js';
import { runOperator } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

async function clients() {
  const { kubeConfig } = await controlPlane();
  return {
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    storage: kubeConfig.makeApiClient(StorageV1Api),
  };
}

type Expansion = 'online' | 'offline' | 'none';

/**
 * A StorageClass served by the process kubelet; removed when the test ends. `offline`: the
 * kubelet grows a file system only when a pod mounts the volume again.
 */
async function storageClass(t: ExecutionContext, namespace: string, expansion: Expansion): Promise<string> {
  const { storage } = await clients();
  const name = `${namespace}-${expansion}`;
  await storage.createStorageClass({
    body: {
      metadata: { name },
      provisioner: 'process-kubelet.zookeeper-operator/local',
      allowVolumeExpansion: expansion !== 'none',
      ...(expansion === 'offline' ? { parameters: { expansion: 'offline' } } : {}),
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    },
  });
  t.teardown(() => storage.deleteStorageClass({ name }).catch(() => undefined));
  return name;
}

/** A new namespace with the operator and a running 3-member cluster `zk` of 1Gi claims (Delete). */
async function runningCluster(t: ExecutionContext, expansion: Expansion): Promise<string> {
  const namespace = await newNamespace(t);
  const storageClassName = await storageClass(t, namespace, expansion);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', {
    replicas: 3,
    storage: { size: '1Gi', storageClassName, reclaimPolicy: 'Delete' },
  });
  await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
  return namespace;
}

async function memberClaims(namespace: string): Promise<V1PersistentVolumeClaim[]> {
  const { core } = await clients();
  const list = await core.listNamespacedPersistentVolumeClaim({ namespace });
  return list.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

const uids = (objects: readonly { metadata?: { name?: string; uid?: string } }[]) =>
  Object.fromEntries(objects.map((o) => [o.metadata?.name, o.metadata?.uid]));

const condition = (status: ZooKeeperClusterStatus, type: string) => status.conditions?.find((c) => c.type === type);

test.serial('growing storage.size grows every claim and recreates the StatefulSet; no member restarts', async (t) => {
  const namespace = await runningCluster(t, 'online');
  const { apps } = await clients();
  const before = {
    statefulSet: (await apps.readNamespacedStatefulSet({ namespace, name: 'zk' })).metadata?.uid,
    pods: uids(await memberPods(namespace, 'zk')),
    claims: uids(await memberClaims(namespace)),
  };
  t.is(Object.keys(before.claims).length, 3);
  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/volumes');
  t.teardown(() => writer.stop().catch(() => undefined));

  await patchCluster(namespace, 'zk', { spec: { storage: { size: '2Gi' } } });
  await pollUntil(
    'a StatefulSet with 2Gi claims, and every member volume at 2Gi',
    async () => {
      const template = await apps.readNamespacedStatefulSet({ namespace, name: 'zk' }).catch(() => undefined);
      const size = template?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;
      const capacities = (await memberClaims(namespace)).map((c) => c.status?.capacity?.storage);
      if (size === '2Gi' && capacities.every((c) => c === '2Gi')) return true;
      throw new Error(`template ${size}, claims ${capacities.join(' ')}`);
    },
    { timeoutMs: ROLLED_MS, intervalMs: 250 },
  );
  await waitForStatus(
    namespace,
    'zk',
    'Running, with every volume grown',
    (status, cluster) => isRunning(status, cluster) && condition(status, 'Progressing')?.reason === 'Reconciled',
    ROLLED_MS,
  );
  const statefulSet = await apps.readNamespacedStatefulSet({ namespace, name: 'zk' });
  t.not(statefulSet.metadata?.uid, before.statefulSet, 'the StatefulSet was recreated');
  t.is(statefulSet.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '2Gi');
  // The StatefulSet controller (kube-controller-manager) makes the new StatefulSet the claims'
  // owner on a sync of its own, which may come after the operator reports the cluster settled.
  const claims = await pollUntil(
    'the new StatefulSet to own every member claim (reclaim policy Delete)',
    async () => {
      const current = await memberClaims(namespace);
      const owned = current.every((c) => c.metadata?.ownerReferences?.some((o) => o.uid === statefulSet.metadata?.uid));
      return owned ? current : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  ).catch(() => memberClaims(namespace));
  t.deepEqual(uids(claims), before.claims, 'the same claims, grown in place');
  for (const claim of claims) {
    t.is(claim.spec?.resources?.requests?.storage, '2Gi', `${claim.metadata?.name} asks for 2Gi`);
    t.is(claim.status?.capacity?.storage, '2Gi', `${claim.metadata?.name} has 2Gi`);
    t.deepEqual(
      claim.metadata?.ownerReferences?.map((o) => o.uid),
      [statefulSet.metadata?.uid],
      'reclaim policy Delete still holds: the new StatefulSet owns the claims',
    );
  }
  const pods = await memberPods(namespace, 'zk');
  t.deepEqual(uids(pods), before.pods, 'no member pod was restarted');
  for (const pod of pods) {
    t.deepEqual(
      pod.metadata?.ownerReferences?.map((o) => o.uid),
      [statefulSet.metadata?.uid],
      `${pod.metadata?.name} was adopted`,
    );
  }
  const events = await clusterEvents(namespace, 'zk');
  t.true(events.some((e) => e.startsWith('ResizingVolumes: growing the volumes of data-zk-0, data-zk-1, data-zk-2')));
  t.true(events.some((e) => e.startsWith('RecreatingStatefulSet: ')));
  t.false(
    events.some((e) => e.startsWith('Restarting')),
    events.join('\n'),
  );

  // A member added afterwards gets a claim of the new size from the new template.
  await patchCluster(namespace, 'zk', { spec: { replicas: 4 } });
  const scaled = await waitForStatus(
    namespace,
    'zk',
    '4 voting members, Running',
    (s, cluster) => isRunning(s, cluster) && s.quorum?.size === 4,
    ROLLED_MS,
  );
  t.is(scaled.ready, '4/4');
  const added = (await memberClaims(namespace)).find((c) => c.metadata?.name === 'data-zk-3');
  t.is(added?.spec?.resources?.requests?.storage, '2Gi');
  const report = await writer.stop();
  t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
  t.deepEqual(report.lost, []);
});

test.serial('a StorageClass without volume expansion: the refusal is reported and nothing is recreated', async (t) => {
  const namespace = await runningCluster(t, 'none');
  const { apps } = await clients();
  const before = (await apps.readNamespacedStatefulSet({ namespace, name: 'zk' })).metadata?.uid;

  await patchCluster(namespace, 'zk', { spec: { storage: { size: '2Gi' } } });
  const status = await waitForStatus(
    namespace,
    'zk',
    'Degraded: VolumeResizeRefused',
    (s) => condition(s, 'Degraded')?.reason === 'VolumeResizeRefused',
    ROLLED_MS,
  );
  t.regex(
    condition(status, 'Degraded')?.message ?? '',
    /growing claim data-zk-\d to 2Gi was refused: .*allowVolumeExpansion: true/,
  );
  t.is(condition(status, 'Available')?.status, 'True', 'the ensemble itself is unaffected');
  const statefulSet = await apps.readNamespacedStatefulSet({ namespace, name: 'zk' });
  t.is(statefulSet.metadata?.uid, before, 'the StatefulSet was not recreated');
  t.is(statefulSet.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '1Gi');
  for (const claim of await memberClaims(namespace)) t.is(claim.spec?.resources?.requests?.storage, '1Gi');
  t.true((await clusterEvents(namespace, 'zk')).some((e) => e.startsWith('VolumeResizeRefused: ')));
});

test.serial('a driver that grows file systems only at mount: each member restarts once, the leader last', async (t) => {
  const namespace = await runningCluster(t, 'offline');
  const before = uids(await memberPods(namespace, 'zk'));
  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/remount');
  t.teardown(() => writer.stop().catch(() => undefined));

  await patchCluster(namespace, 'zk', { spec: { storage: { size: '2Gi' } } });
  await pollUntil(
    'every member volume at 2Gi, with no file-system resize pending',
    async () => {
      const claims = await memberClaims(namespace);
      const pending = claims.filter(
        (c) => c.status?.capacity?.storage !== '2Gi' || (c.status?.conditions ?? []).length > 0,
      );
      if (claims.length === 3 && pending.length === 0) return true;
      throw new Error(
        `pending: ${pending.map((c) => `${c.metadata?.name} ${c.status?.capacity?.storage}`).join(', ')}`,
      );
    },
    { timeoutMs: ROLLED_MS, intervalMs: 250 },
  );
  const status = await waitForStatus(
    namespace,
    'zk',
    'Running, every volume grown',
    (s, cluster) => isRunning(s, cluster) && condition(s, 'Progressing')?.reason === 'Reconciled',
    ROLLED_MS,
  );
  const after = uids(await memberPods(namespace, 'zk'));
  for (const [pod, uid] of Object.entries(after)) t.not(uid, before[pod], `${pod} was restarted`);
  const restarts = (await clusterEvents(namespace, 'zk')).filter((e) => e.startsWith('Restarting'));
  t.is(restarts.length, 3, restarts.join('\n'));
  t.regex(restarts[2] ?? '', /^RestartingLeader: /, 'the leader last');
  t.is(status.ready, '3/3');
  const report = await writer.stop();
  t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
  t.deepEqual(report.lost, []);
});
