/**
 * Health from ZooKeeper's own view, end to end: a member killed by hand shows as Degraded
 * within seconds and the cluster recovers; upgrades, crash-looping members during a roll, and an
 * operator killed mid-roll all end with every member on the desired revision and no lost write.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
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
import { grantLeaderElection, runOperator, startOperatorProcess } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

const condition = (status: ZooKeeperClusterStatus, type: string) => status.conditions?.find((c) => c.type === type);

async function core() {
  return (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
}

test.serial('a member killed by hand is reported Degraded within 5 s, and the cluster recovers', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi' } });
  await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
  const victim = (await memberPods(namespace, 'zk'))[0]?.metadata?.name ?? '';
  await (await core()).deleteNamespacedPod({ namespace, name: victim, gracePeriodSeconds: 0 });
  const killedAt = Date.now();
  const degraded = await waitForStatus(
    namespace,
    'zk',
    `Degraded naming ${victim}`,
    (status) =>
      condition(status, 'Degraded')?.status === 'True' &&
      (condition(status, 'Degraded')?.message ?? '').includes(victim),
    15_000,
  );
  const detectedMs = Date.now() - killedAt;
  t.log(`Degraded after ${detectedMs} ms: ${condition(degraded, 'Degraded')?.message}`);
  t.true(detectedMs <= 5_000, `reported after ${detectedMs} ms`);
  t.is(condition(degraded, 'Available')?.status, 'True', 'two of three still form a quorum');
  const recovered = await waitForStatus(namespace, 'zk', 'Running again', isRunning, FORMED_MS);
  t.is(recovered.ready, '3/3');
});

test.serial('an upgrade from ZooKeeper 3.8 to 3.9 rolls every member and keeps every write', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { replicas: 3, image: 'zookeeper:3.8.6', storage: { size: '1Gi' } });
  const formed = await waitForStatus(namespace, 'zk', 'Running on 3.8.6', isRunning, FORMED_MS);
  t.is(formed.currentVersion, '3.8.6');
  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/upgrade');
  t.teardown(() => writer.stop().catch(() => undefined));
  await patchCluster(namespace, 'zk', { spec: { image: 'zookeeper:3.9.4' } });
  const rolling = await waitForStatus(
    namespace,
    'zk',
    'target version 3.9.4',
    (s) => s.targetVersion === '3.9.4',
    30_000,
  );
  t.is(rolling.targetVersion, '3.9.4');
  const upgraded = await waitForStatus(
    namespace,
    'zk',
    'Running on 3.9.4',
    (status, cluster) => status.currentVersion === '3.9.4' && isRunning(status, cluster),
    ROLLED_MS,
  );
  const report = await writer.stop();
  t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
  t.deepEqual(report.lost, []);
  t.is(upgraded.ready, '3/3');
  for (const pod of await memberPods(namespace, 'zk')) t.is(pod.spec?.containers[0]?.image, 'zookeeper:3.9.4');
});

test.serial(
  'a crash-looping member stops the roll with a clear condition, and fixing the spec finishes it',
  async (t) => {
    const namespace = await newNamespace(t);
    await runOperator(t, namespace);
    await createCluster(namespace, 'zk', {
      replicas: 3,
      storage: { size: '1Gi' },
      rollingUpdate: { stepTimeoutSeconds: 30 },
    });
    await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/stalled');
    t.teardown(() => writer.stop().catch(() => undefined));

    // A tag no registry has: the restarted member cannot start.
    await patchCluster(namespace, 'zk', { spec: { image: 'zookeeper:3.9.99' } });
    const stalled = await waitForStatus(
      namespace,
      'zk',
      'the roll to stall',
      (status) => condition(status, 'Degraded')?.reason === 'RollStalled',
      120_000,
    );
    t.log(`stalled: ${condition(stalled, 'Degraded')?.message}`);
    // It says why, in the kubelet's words, not only that it waits.
    t.regex(
      condition(stalled, 'Degraded')?.message ?? '',
      /waiting for zk-\d \((ErrImagePull|ImagePullBackOff): .*zookeeper:3\.9\.99.*\) to serve and sync with the leader/,
    );
    t.is(condition(stalled, 'Available')?.status, 'True', 'quorum held: only one member was touched');
    const badPods = (await memberPods(namespace, 'zk')).filter(
      (p) => p.spec?.containers[0]?.image === 'zookeeper:3.9.99',
    );
    t.is(badPods.length, 1, 'the roll stopped after the first member');
    t.true(
      (await clusterEvents(namespace, 'zk')).some(
        (e) => e.startsWith('RollStalled:') && /ImagePull|ErrImagePull/.test(e),
      ),
      'a Warning Event says so, and why',
    );

    await patchCluster(namespace, 'zk', { spec: { image: 'zookeeper:3.9.4', config: { maxClientCnxns: '100' } } });
    const fixed = await waitForStatus(
      namespace,
      'zk',
      'Running after the fix',
      (status, cluster) => status.currentVersion === '3.9.4' && isRunning(status, cluster),
      ROLLED_MS,
    );
    const report = await writer.stop();
    t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
    t.deepEqual(report.lost, []);
    t.is(fixed.ready, '3/3');
  },
);

test.serial('an operator killed mid-roll is replaced by one that finishes the roll safely', async (t) => {
  const namespace = await newNamespace(t);
  await grantLeaderElection(namespace);
  const first = await startOperatorProcess(namespace);
  t.teardown(() => first.child.kill('SIGKILL'));
  await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi' } });
  const formed = await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/takeover');
  t.teardown(() => writer.stop().catch(() => undefined));

  await patchCluster(namespace, 'zk', { spec: { config: { maxClientCnxns: '100' } } });
  await pollUntil(
    'the first restart of the roll',
    async () =>
      (await clusterEvents(namespace, 'zk')).some((e) => e.startsWith('RestartingFollower')) ? true : undefined,
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  first.child.kill('SIGKILL');
  const second = await startOperatorProcess(namespace);
  t.teardown(() => second.child.kill('SIGKILL'));
  const rolled = await waitForStatus(
    namespace,
    'zk',
    'the roll finished by the second operator',
    (status, cluster) => status.targetRevision !== formed.targetRevision && isRunning(status, cluster),
    ROLLED_MS,
  );
  const report = await writer.stop();
  t.deepEqual(report.lost, []);
  t.is(rolled.ready, '3/3');
  const restarts = (await clusterEvents(namespace, 'zk')).filter((e) => e.startsWith('Restarting'));
  t.is(restarts.length, 3, `each member restarted once:\n${restarts.join('\n')}`);
  t.true(
    second.output.some((line) => line.includes('restarting')),
    'the second operator continued the roll',
  );
});
