/**
 * Scaling end to end: membership changes by dynamic reconfiguration, one voter at a time, on
 * the real control plane with real ZooKeeper, while a client writes; afterwards every
 * acknowledged write is there.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import { REMOVED_MEMBER_ANNOTATION } from '../../src/controller/scaling.js';
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
  scaleCluster,
  waitForStatus,
} from '../support/clusters.js';
import { grantLeaderElection, runOperator, startOperatorProcess } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

/** An Event for one voter's reconfig removal; which reason depends on whether it led at the time. */
function isVoterRemoval(event: string): boolean {
  return event.startsWith('RemovingMember: ') || event.startsWith('RemovingLeader: ');
}

async function scaledTo(t: ExecutionContext, namespace: string, replicas: number) {
  const status = await waitForStatus(
    namespace,
    'zk',
    `${replicas} voting members, Running`,
    (s, cluster) => isRunning(s, cluster) && s.quorum?.size === replicas && s.ready === `${replicas}/${replicas}`,
    ROLLED_MS,
  );
  t.is((await memberPods(namespace, 'zk')).length, replicas, `${replicas} member pods`);
  return status;
}

async function scaleSequence(t: ExecutionContext, sizes: number[]) {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', {
    replicas: sizes[0] as number,
    storage: { size: '1Gi', reclaimPolicy: 'Delete' },
  });
  await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/scaling');
  t.teardown(() => writer.stop().catch(() => undefined));
  let version = (await scaledTo(t, namespace, sizes[0] as number)).configVersion;
  for (const [index, size] of sizes.slice(1).entries()) {
    if (index % 2 === 0) await scaleCluster(namespace, 'zk', size);
    else await patchCluster(namespace, 'zk', { spec: { replicas: size } });
    const status = await scaledTo(t, namespace, size);
    t.not(status.configVersion, version, `a new committed config for ${size} members`);
    version = status.configVersion;
    t.log(`scaled to ${size}: config version ${version}, leader ${status.leader}`);
  }
  const report = await writer.stop();
  t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
  t.deepEqual(report.lost, [], 'every acknowledged write survived every membership change');
  const events = await clusterEvents(namespace, 'zk');
  t.true(
    events.some((e) => /reconfig|Member|PodCount/i.test(e)),
    events.join('\n'),
  );
  // reclaimPolicy Delete: the claims of members that left are gone.
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const finalSize = sizes.at(-1) as number;
  const claims = await pollUntil(
    'the claims of removed members to be deleted',
    async () => {
      const names = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.map((c) => c.metadata?.name);
      return names.length === finalSize ? names.sort() : undefined;
    },
    { timeoutMs: 60_000 },
  );
  t.deepEqual(
    claims,
    Array.from({ length: finalSize }, (_, ordinal) => `data-zk-${ordinal}`),
  );
}

test.serial('3 -> 5 -> 3 members by reconfiguration, one voter at a time, no write lost', async (t) => {
  await scaleSequence(t, [3, 5, 3]);
});

test.serial('1 -> 3 -> 1 -> 3 members (a sequence other operators fail), no write lost', async (t) => {
  await scaleSequence(t, [1, 3, 1, 3]);
});

test.serial('Retain keeps and marks removed members’ claims, and a re-scale-up never reuses their data', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Retain' } });
  await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/retain');
  t.teardown(() => writer.stop().catch(() => undefined));
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const claims = async () =>
    (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.sort((a, b) =>
      (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
    );
  const before = new Map((await claims()).map((c) => [c.metadata?.name, c.metadata?.uid]));

  await scaleCluster(namespace, 'zk', 1);
  await scaledTo(t, namespace, 1);
  const marked = await pollUntil(
    'the removed members’ claims to be marked',
    async () => {
      const list = await claims();
      const removed = list.filter((c) => c.metadata?.name !== 'data-zk-0');
      return removed.length === 2 && removed.every((c) => c.metadata?.annotations?.[REMOVED_MEMBER_ANNOTATION])
        ? removed
        : undefined;
    },
    { timeoutMs: 60_000 },
  );
  t.deepEqual(
    marked.map((c) => c.metadata?.name),
    ['data-zk-1', 'data-zk-2'],
    'kept, not deleted',
  );

  await scaleCluster(namespace, 'zk', 3);
  await scaledTo(t, namespace, 3);
  const after = await claims();
  for (const name of ['data-zk-1', 'data-zk-2']) {
    const claim = after.find((c) => c.metadata?.name === name);
    t.truthy(claim, `${name} exists again`);
    t.not(claim?.metadata?.uid, before.get(name), `${name} is a fresh claim, not the retained one`);
    t.is(claim?.metadata?.annotations?.[REMOVED_MEMBER_ANNOTATION], undefined);
  }
  const report = await writer.stop();
  t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
  t.deepEqual(report.lost, []);
});

test.serial('a joiner deleted by hand mid scale-up comes back and the scale-up completes', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Delete' } });
  await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/joiner-lost');
  t.teardown(() => writer.stop().catch(() => undefined));
  await scaleCluster(namespace, 'zk', 4);
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const joiner = await pollUntil(
    'the joiner pod',
    async () => (await memberPods(namespace, 'zk')).find((p) => p.metadata?.name === 'zk-3'),
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  await core.deleteNamespacedPod({ namespace, name: 'zk-3', gracePeriodSeconds: 0 });
  const status = await scaledTo(t, namespace, 4);
  const recreated = (await memberPods(namespace, 'zk')).find((p) => p.metadata?.name === 'zk-3');
  t.not(recreated?.metadata?.uid, joiner.metadata?.uid, 'a new joiner pod');
  t.is(status.quorum?.size, 4);
  const report = await writer.stop();
  t.deepEqual(report.lost, []);
});

test.serial(
  'an operator killed between a reconfig and the StatefulSet change is replaced by one that finishes',
  async (t) => {
    const namespace = await newNamespace(t);
    await grantLeaderElection(namespace);
    const first = await startOperatorProcess(namespace);
    t.teardown(() => first.child.kill('SIGKILL'));
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Delete' } });
    await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/takeover');
    t.teardown(() => writer.stop().catch(() => undefined));
    await scaleCluster(namespace, 'zk', 1);
    // The removal Event is recorded right after the reconfig committed; the pod count follows later.
    await pollUntil(
      'the first member removal',
      async () => ((await clusterEvents(namespace, 'zk')).some(isVoterRemoval) ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    first.child.kill('SIGKILL');
    const second = await startOperatorProcess(namespace);
    t.teardown(() => second.child.kill('SIGKILL'));
    await scaledTo(t, namespace, 1);
    const report = await writer.stop();
    t.deepEqual(report.lost, []);
    // Never more reconfigs than members removed: the new operator did not redo the first removal.
    const removals = (await clusterEvents(namespace, 'zk')).filter(isVoterRemoval);
    t.true(
      removals.length >= 1 && removals.length <= 2,
      `at most one reconfig per removed member:\n${removals.join('\n')}`,
    );
    t.deepEqual(
      (await memberPods(namespace, 'zk')).map((p) => p.metadata?.name),
      ['zk-0'],
    );
  },
);

test.serial(
  'scaling down while a member is down keeps quorum and finishes; the member rejoins afterwards',
  async (t) => {
    const namespace = await newNamespace(t);
    await runOperator(t, namespace);
    await createCluster(namespace, 'zk', { replicas: 5, storage: { size: '1Gi', reclaimPolicy: 'Delete' } });
    await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/member-down');
    t.teardown(() => writer.stop().catch(() => undefined));
    // Keep zk-0 down: its volume now claims to be another member, so its start script refuses to run.
    const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
    const claim = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data-zk-0' });
    const volume = await core.readPersistentVolume({ name: claim.spec?.volumeName ?? '' });
    const myidFile = join(volume.spec?.hostPath?.path ?? '', 'myid');
    await writeFile(myidFile, '9\n');
    await core.deleteNamespacedPod({ namespace, name: 'zk-0', gracePeriodSeconds: 0 });
    await waitForStatus(
      namespace,
      'zk',
      'zk-0 down',
      (s) => s.members?.some((m) => m.pod === 'zk-0' && !m.serving) ?? false,
      60_000,
    );

    await scaleCluster(namespace, 'zk', 3);
    const scaled = await waitForStatus(
      namespace,
      'zk',
      'three voters while zk-0 is down',
      (s) => s.quorum?.size === 3 && s.conditions?.some((c) => c.type === 'Available' && c.status === 'True') === true,
      ROLLED_MS,
    );
    t.is(scaled.quorum?.size, 3);
    t.is(scaled.quorum?.syncedVoters, 2, 'zk-1 and zk-2 synced; zk-0 still down');

    await writeFile(myidFile, '1\n');
    await scaledTo(t, namespace, 3);
    const report = await writer.stop();
    t.deepEqual(report.lost, []);
  },
);

/** `kubectl scale sts NAME --replicas=N`: past the operator, through the StatefulSet's scale subresource. */
async function scaleStatefulSetByHand(namespace: string, name: string, replicas: number): Promise<void> {
  const apps = (await controlPlane()).kubeConfig.makeApiClient(AppsV1Api);
  await apps.patchNamespacedStatefulSetScale(
    { namespace, name, body: { spec: { replicas } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

for (const replicas of [1, 0]) {
  test.serial(
    `a StatefulSet scaled by hand to ${replicas} is restored to the committed voters; quorum comes back, no write lost`,
    async (t) => {
      const namespace = await newNamespace(t);
      await runOperator(t, namespace);
      await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Delete' } });
      await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
      const claimsBefore = await claimUids(namespace);
      const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/scaled-by-hand');
      t.teardown(() => writer.stop().catch(() => undefined));
      await pollUntil('the first writes', async () => (writer.count >= 20 ? true : undefined), { timeoutMs: 30_000 });
      await scaleStatefulSetByHand(namespace, 'zk', replicas);
      const scaledAt = Date.now();
      const restored = await pollUntil(
        'the restore Event',
        async () => (await clusterEvents(namespace, 'zk')).find((e) => e.startsWith('StatefulSetReplicasRestored: ')),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      t.log(`${Date.now() - scaledAt} ms after the StatefulSet was scaled to ${replicas}: ${restored}`);
      // The client writes through the restored ensemble again (it may have had no quorum meanwhile).
      const writtenBefore = writer.count;
      await pollUntil(
        'writes through the restored ensemble',
        async () => (writer.count >= writtenBefore + 20 ? true : undefined),
        { timeoutMs: 120_000 },
      );
      const status = await scaledTo(t, namespace, 3);
      t.is(status.quorum?.size, 3, 'the committed membership never shrank');
      t.deepEqual(await claimUids(namespace), claimsBefore, 'every member came back on its own claim');
      const report = await writer.stop();
      t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
      t.deepEqual(report.lost, [], 'every acknowledged write survived');
    },
  );
}

async function claimUids(namespace: string): Promise<Record<string, string>> {
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items;
  return Object.fromEntries(claims.map((c) => [c.metadata?.name ?? '', c.metadata?.uid ?? '']));
}

test.serial(
  'a joiner stuck on a bad image is replaced once the spec is fixed; no voter restarts, no write lost',
  async (t) => {
    const namespace = await newNamespace(t);
    await runOperator(t, namespace);
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Delete' } });
    await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/stuck-joiner');
    t.teardown(() => writer.stop().catch(() => undefined));
    const voterUids = async () =>
      (await memberPods(namespace, 'zk'))
        .filter((pod) => ['zk-0', 'zk-1', 'zk-2'].includes(pod.metadata?.name ?? ''))
        .map((pod) => pod.metadata?.uid);
    const voters = await voterUids();

    // One more member, on an image that does not exist: the joiner cannot start.
    await patchCluster(namespace, 'zk', { spec: { replicas: 4, image: 'zookeeper:3.9.99' } });
    const stuck = await pollUntil(
      'the joiner zk-3 stuck pulling its image',
      async () => {
        const joiner = (await memberPods(namespace, 'zk')).find((pod) => pod.metadata?.name === 'zk-3');
        const reason = joiner?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        return reason === 'ImagePullBackOff' || reason === 'ErrImagePull' ? joiner : undefined;
      },
      { timeoutMs: 180_000 },
    );
    t.deepEqual(await voterUids(), voters, 'no voter is rolled onto the bad image while the joiner waits');

    // The spec is fixed: the joiner is replaced from the current template, synced, then added.
    await patchCluster(namespace, 'zk', { spec: { image: null } });
    await scaledTo(t, namespace, 4);
    const joiner = (await memberPods(namespace, 'zk')).find((pod) => pod.metadata?.name === 'zk-3');
    t.not(joiner?.metadata?.uid, stuck.metadata?.uid, 'the stuck joiner was replaced');
    t.deepEqual(await voterUids(), voters, 'the voters never restarted');
    const events = await clusterEvents(namespace, 'zk');
    t.true(
      events.some((event) => event.startsWith('ReplacingJoiner: replacing zk-3')),
      events.join('\n'),
    );
    const report = await writer.stop();
    t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
    t.deepEqual(report.lost, [], 'every acknowledged write survived');
  },
);
