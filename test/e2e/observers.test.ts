/**
 * Observers end to end: non-voting members added and removed by reconfig one at a time, rolled
 * before the voters, and killed, on the real control plane with real ZooKeeper 3.8 and 3.9,
 * while a client writes (through voters and observers alike); afterwards every acknowledged
 * write is there, and the quorum never counted an observer.
 */
import { CoreV1Api } from '@kubernetes/client-node';
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
  readCluster,
  readScale,
  waitForStatus,
} from '../support/clusters.js';
import { runOperator } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

const observerPods = async (namespace: string) =>
  (await memberPods(namespace, 'zk')).filter((p) => p.metadata?.name?.startsWith('zk-observer-'));

/** Running with 3 voters and `observers` committed observers, each serving in sync as an observer. */
function withObservers(observers: number) {
  return (status: ZooKeeperClusterStatus, cluster: ZooKeeperCluster) => {
    const members = status.members ?? [];
    const observing = members.filter((m) => m.role === 'observer' && m.synced && !m.voting);
    return (
      isRunning(status, cluster) &&
      status.quorum?.size === 3 &&
      status.ready === (observers > 0 ? `3/3+${observers}/${observers}` : '3/3') &&
      observing.length === observers &&
      members.length === 3 + observers
    );
  };
}

/** Samples the status while `during` runs: the quorum must stay the voters' and whole. */
async function watchQuorum(namespace: string, during: () => Promise<void>): Promise<string[]> {
  const seen = new Set<string>();
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const status = (await readCluster(namespace, 'zk')).status;
      if (status?.quorum !== undefined) seen.add(`size ${status.quorum.size}`);
      const available = status?.conditions?.find((c) => c.type === 'Available');
      if (available !== undefined && available.status !== 'True') seen.add(`unavailable: ${available.message}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  try {
    await during();
  } finally {
    done = true;
    await sampler;
  }
  return [...seen];
}

async function formedWithWriter(t: ExecutionContext, image: string, observers = 0) {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', {
    replicas: 3,
    observers,
    image,
    storage: { size: '1Gi', reclaimPolicy: 'Delete' },
  });
  const formed = await waitForStatus(
    namespace,
    'zk',
    `Running with ${observers} observers`,
    withObservers(observers),
    FORMED_MS,
  );
  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/observers');
  t.teardown(() => writer.stop().catch(() => undefined));
  return { namespace, formed, writer };
}

for (const image of ['zookeeper:3.9.4', 'zookeeper:3.8.6']) {
  test.serial(`${image}: 3 voters + 0 -> 2 -> 0 observers by reconfig, one at a time, no write lost`, async (t) => {
    const { namespace, formed, writer } = await formedWithWriter(t, image);
    const sizes = await watchQuorum(namespace, async () => {
      await patchCluster(namespace, 'zk', { spec: { observers: 2 } });
      const up = await waitForStatus(namespace, 'zk', '3 voters + 2 observers', withObservers(2), ROLLED_MS);
      t.not(up.configVersion, formed.configVersion, 'a new committed config with the observers');
      t.deepEqual(
        (up.members ?? []).filter((m) => m.role === 'observer').map((m) => [m.pod, m.myid]),
        [
          ['zk-observer-0', 101],
          ['zk-observer-1', 102],
        ],
      );
      t.deepEqual(
        (await memberPods(namespace, 'zk')).filter((p) => !p.metadata?.name?.includes('observer')).length,
        3,
        'the voters’ StatefulSet did not move',
      );
      const scale = await readScale(namespace, 'zk');
      t.deepEqual(
        [scale.spec.replicas, scale.status.replicas],
        [3, 3],
        'the scale subresource (kubectl scale) counts the voters only',
      );
      await patchCluster(namespace, 'zk', { spec: { observers: 0 } });
      await waitForStatus(namespace, 'zk', '3 voters, no observer', withObservers(0), ROLLED_MS);
    });
    t.deepEqual(
      sizes.filter((s) => s.startsWith('size')),
      ['size 3'],
      'the quorum was the 3 voters throughout',
    );
    const report = await writer.stop();
    t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
    t.true(report.acknowledged > 0);
    t.deepEqual(report.lost, [], 'every acknowledged write survived');

    const events = (await clusterEvents(namespace, 'zk')).filter((e) =>
      /^(StartingObserver|AddingObserver|RemovingObserver|RemovingObserverPod)/.test(e),
    );
    t.deepEqual(
      events.map((e) => e.split(':')[0]),
      [
        'StartingObserver',
        'AddingObserver',
        'StartingObserver',
        'AddingObserver',
        'RemovingObserver',
        'RemovingObserverPod',
        'RemovingObserver',
        'RemovingObserverPod',
      ],
      events.join('\n'),
    );
    t.deepEqual(await observerPods(namespace), []);
    // An observer's claim goes with its pod (the observer StatefulSet's retention policy).
    const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
    const claims = await pollUntil(
      'the observers’ claims to be deleted',
      async () => {
        const names = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.map(
          (c) => c.metadata?.name,
        );
        return names.some((n) => n?.includes('observer')) ? undefined : names.sort();
      },
      { timeoutMs: 120_000 },
    );
    t.deepEqual(claims, ['data-zk-0', 'data-zk-1', 'data-zk-2']);
  });
}

for (const image of ['zookeeper:3.9.4', 'zookeeper:3.8.6']) {
  test.serial(
    `${image}: a roll with observers restarts the observers first and the leader last, no write lost`,
    async (t) => {
      const { namespace, formed, writer } = await formedWithWriter(t, image, 2);
      const uidsBefore = new Map((await memberPods(namespace, 'zk')).map((p) => [p.metadata?.name, p.metadata?.uid]));
      const sizes = await watchQuorum(namespace, async () => {
        await patchCluster(namespace, 'zk', { spec: { config: { maxClientCnxns: '100' } } });
        await waitForStatus(
          namespace,
          'zk',
          'rolled, 3 voters + 2 observers',
          (status, cluster) => status.targetRevision !== formed.targetRevision && withObservers(2)(status, cluster),
          ROLLED_MS,
        );
      });
      t.deepEqual(
        sizes.filter((s) => s.startsWith('size')),
        ['size 3'],
      );
      const report = await writer.stop();
      t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
      t.deepEqual(report.lost, [], 'every acknowledged write survived');
      for (const pod of await memberPods(namespace, 'zk')) {
        t.not(pod.metadata?.uid, uidsBefore.get(pod.metadata?.name), `${pod.metadata?.name} was restarted`);
      }
      const restarts = (await clusterEvents(namespace, 'zk')).filter((e) => e.startsWith('Restarting'));
      t.deepEqual(
        restarts.map((e) => e.split(':')[0]),
        ['RestartingObserver', 'RestartingObserver', 'RestartingFollower', 'RestartingFollower', 'RestartingLeader'],
        restarts.join('\n'),
      );
      t.regex(restarts[0] ?? '', /restarting observer zk-observer-1/);
      t.regex(restarts[1] ?? '', /restarting observer zk-observer-0/);
    },
  );

  test.serial(
    `${image}: an observer killed comes back by itself; the quorum is never affected, no write lost`,
    async (t) => {
      const { namespace, formed, writer } = await formedWithWriter(t, image, 2);
      const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
      const victim = (await observerPods(namespace)).find((p) => p.metadata?.name === 'zk-observer-0');
      const killedAt = Date.now();
      const sizes = await watchQuorum(namespace, async () => {
        await core.deleteNamespacedPod({ namespace, name: 'zk-observer-0', gracePeriodSeconds: 0 });
        await waitForStatus(
          namespace,
          'zk',
          'the observer back',
          (status, cluster) =>
            withObservers(2)(status, cluster) &&
            (status.members ?? []).some((m) => m.pod === 'zk-observer-0' && m.synced),
          ROLLED_MS,
        );
      });
      t.log(`the observer was back in sync ${Date.now() - killedAt} ms after it was killed`);
      t.deepEqual(sizes, ['size 3'], 'the quorum stayed the 3 voters and Available throughout');
      const back = (await observerPods(namespace)).find((p) => p.metadata?.name === 'zk-observer-0');
      t.not(back?.metadata?.uid, victim?.metadata?.uid, 'a new observer pod');
      const after = await readCluster(namespace, 'zk');
      t.is(
        after.status?.configVersion,
        formed.configVersion,
        'no reconfig: the observer came back as the committed one',
      );
      t.is(after.status?.quorum?.faultTolerance, 1);
      const report = await writer.stop();
      t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
      t.deepEqual(report.lost, [], 'every acknowledged write survived');
    },
  );
}
