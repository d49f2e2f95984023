/**
 * Growing `storage.size` end to end: the member claims, voters' and observers', grow online,
 * both StatefulSets are recreated around their running pods (claim templates are immutable), no
 * member restarts, no write is lost, and members added afterwards, voter and observer, get claims
 * of the new size. A claim whose StorageClass does not allow expansion is reported, not forced.
 *
 * The process kubelet grows a bound claim as a CSI driver would, online or (with a class
 * parameter) only when a pod mounts the volume again; the API server's PersistentVolumeClaimResize
 * admission decides, from the StorageClass, whether a claim may grow at all. A driver that grows
 * file systems only at mount time makes the operator restart each member once, through the
 * rolling restart: followers first, the leader last.
 */
import {
  AppsV1Api,
  CoreV1Api,
  StorageV1Api,
  type V1PersistentVolumeClaim,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import type { ZooKeeperCluster, ZooKeeperClusterStatus } from '../../src/api/types.js';
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

/**
 * A new namespace with the operator and a running cluster `zk` of 3 voters and `observers`
 * observers, all with 1Gi claims (Delete).
 */
async function runningCluster(t: ExecutionContext, expansion: Expansion, observers = 0): Promise<string> {
  const namespace = await newNamespace(t);
  const storageClassName = await storageClass(t, namespace, expansion);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', {
    replicas: 3,
    observers,
    storage: { size: '1Gi', storageClassName, reclaimPolicy: 'Delete' },
  });
  await waitForStatus(namespace, 'zk', `Running with ${observers} observers`, allReady(3, observers), FORMED_MS);
  return namespace;
}

/** Running with every voter and observer ready. */
const allReady = (voters: number, observers: number) => (status: ZooKeeperClusterStatus, cluster: ZooKeeperCluster) =>
  isRunning(status, cluster) &&
  status.ready === (observers > 0 ? `${voters}/${voters}+${observers}/${observers}` : `${voters}/${voters}`);

const templateSize = (statefulSet: V1StatefulSet | undefined) =>
  statefulSet?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;

async function memberClaims(namespace: string): Promise<V1PersistentVolumeClaim[]> {
  const { core } = await clients();
  const list = await core.listNamespacedPersistentVolumeClaim({ namespace });
  return list.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

const uids = (objects: readonly { metadata?: { name?: string; uid?: string } }[]) =>
  Object.fromEntries(objects.map((o) => [o.metadata?.name, o.metadata?.uid]));

const condition = (status: ZooKeeperClusterStatus, type: string) => status.conditions?.find((c) => c.type === type);

test.serial(
  "growing storage.size grows every voter's and observer's claim and recreates both StatefulSets; no member restarts",
  async (t) => {
    const namespace = await runningCluster(t, 'online', 1);
    const { apps } = await clients();
    const statefulSets = async () =>
      Promise.all(
        ['zk', 'zk-observer'].map((name) => apps.readNamespacedStatefulSet({ namespace, name }).catch(() => undefined)),
      );
    const before = {
      statefulSets: (await statefulSets()).map((s) => s?.metadata?.uid),
      pods: uids(await memberPods(namespace, 'zk')),
      claims: uids(await memberClaims(namespace)),
    };
    t.deepEqual(Object.keys(before.claims), ['data-zk-0', 'data-zk-1', 'data-zk-2', 'data-zk-observer-0']);
    t.deepEqual(Object.keys(before.pods), ['zk-0', 'zk-1', 'zk-2', 'zk-observer-0']);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/volumes');
    t.teardown(() => writer.stop().catch(() => undefined));

    await patchCluster(namespace, 'zk', { spec: { storage: { size: '2Gi' } } });
    await pollUntil(
      "both StatefulSets with 2Gi claims, and every voter's and observer's volume at 2Gi",
      async () => {
        const sizes = (await statefulSets()).map(templateSize);
        const capacities = (await memberClaims(namespace)).map((c) => c.status?.capacity?.storage);
        if (sizes.every((size) => size === '2Gi') && capacities.every((c) => c === '2Gi')) return true;
        throw new Error(`templates ${sizes.join(' ')}, claims ${capacities.join(' ')}`);
      },
      { timeoutMs: ROLLED_MS, intervalMs: 250 },
    );
    await waitForStatus(
      namespace,
      'zk',
      'Running, with every volume grown',
      (status, cluster) => allReady(3, 1)(status, cluster) && condition(status, 'Progressing')?.reason === 'Reconciled',
      ROLLED_MS,
    );
    const after = await statefulSets();
    const [voterUid, observerUid] = after.map((s) => s?.metadata?.uid);
    t.not(voterUid, before.statefulSets[0], "the voters' StatefulSet was recreated");
    t.not(observerUid, before.statefulSets[1], "the observers' StatefulSet was recreated");
    t.deepEqual(after.map(templateSize), ['2Gi', '2Gi']);
    /** The StatefulSet that owns a member's claim or pod: the observers' for zk-observer-*. */
    const ownerOf = (name: string | undefined) => (name?.includes('zk-observer-') ? observerUid : voterUid);
    // The StatefulSet controller (kube-controller-manager) makes each new StatefulSet its claims'
    // owner on a sync of its own, which may come after the operator reports the cluster settled.
    const claims = await pollUntil(
      'the new StatefulSets to own every member claim (reclaim policy Delete)',
      async () => {
        const current = await memberClaims(namespace);
        const owned = current.every((c) =>
          c.metadata?.ownerReferences?.some((o) => o.uid === ownerOf(c.metadata?.name)),
        );
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
        [ownerOf(claim.metadata?.name)],
        `reclaim policy Delete still holds: the new StatefulSet owns ${claim.metadata?.name}`,
      );
    }
    const pods = await memberPods(namespace, 'zk');
    t.deepEqual(uids(pods), before.pods, 'no member pod was restarted');
    for (const pod of pods) {
      t.deepEqual(
        pod.metadata?.ownerReferences?.map((o) => o.uid),
        [ownerOf(pod.metadata?.name)],
        `${pod.metadata?.name} was adopted`,
      );
    }
    const events = await clusterEvents(namespace, 'zk');
    t.true(
      events.some((e) =>
        e.startsWith(
          'ResizingVolumes: growing the volumes of data-zk-0, data-zk-1, data-zk-2, data-zk-observer-0 to 2Gi',
        ),
      ),
      events.join('\n'),
    );
    t.true(events.some((e) => e.startsWith('RecreatingStatefulSet: ') && e.includes('the StatefulSet zk with')));
    t.true(
      events.some((e) => e.startsWith('RecreatingStatefulSet: ') && e.includes('the StatefulSet zk-observer with')),
    );
    t.false(
      events.some((e) => e.startsWith('Restarting')),
      events.join('\n'),
    );

    // Members added afterwards, a voter then an observer, get claims of the new size from the new templates.
    await patchCluster(namespace, 'zk', { spec: { replicas: 4, observers: 2 } });
    const scaled = await waitForStatus(
      namespace,
      'zk',
      '4 voting members and 2 observers, Running',
      (s, cluster) => allReady(4, 2)(s, cluster) && s.quorum?.size === 4,
      ROLLED_MS,
    );
    t.is(scaled.ready, '4/4+2/2');
    const addedClaims = (await memberClaims(namespace)).filter((c) =>
      ['data-zk-3', 'data-zk-observer-1'].includes(c.metadata?.name ?? ''),
    );
    t.deepEqual(
      addedClaims.map((c) => [c.metadata?.name, c.spec?.resources?.requests?.storage]),
      [
        ['data-zk-3', '2Gi'],
        ['data-zk-observer-1', '2Gi'],
      ],
    );
    const report = await writer.stop();
    t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
    t.deepEqual(report.lost, []);
  },
);

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
