/**
 * Rolling restarts end to end: the real control plane, the process kubelet running real
 * ZooKeeper, the operator under its RBAC, and a client writing throughout.
 */
import test from 'ava';
import { newNamespace } from '../harness/fixture.js';
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
import { LeaderWatch } from '../support/leader-watch.js';
import { runOperator } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

for (const replicas of [3, 5]) {
  test.serial(
    `a config change rolls all ${replicas} members, the leader last, with one election and no lost write`,
    async (t) => {
      const namespace = await newNamespace(t);
      await runOperator(t, namespace);
      await createCluster(namespace, 'zk', { replicas, storage: { size: '1Gi' } });
      const formed = await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
      t.is(formed.ready, `${replicas}/${replicas}`);
      const leaderBefore = formed.leader;
      t.truthy(leaderBefore);
      const uidsBefore = new Map((await memberPods(namespace, 'zk')).map((p) => [p.metadata?.name, p.metadata?.uid]));

      const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/e2e');
      const watch = new LeaderWatch(() => memberPods(namespace, 'zk'));
      t.teardown(async () => {
        await watch.stop();
        await writer.stop().catch(() => undefined);
      });
      await patchCluster(namespace, 'zk', { spec: { config: { maxClientCnxns: '100' } } });
      const rolled = await waitForStatus(
        namespace,
        'zk',
        'rolled to the new revision and Running',
        (status, cluster) => status.targetRevision !== formed.targetRevision && isRunning(status, cluster),
        ROLLED_MS,
      );
      await watch.stop();
      const report = await writer.stop();

      t.log(
        `writes acknowledged ${report.acknowledged}, failed attempts ${report.failed}, longest gap ${report.longestGapMs} ms`,
      );
      t.log(`leaders seen: ${watch.leaders.join(' -> ')}; elections: ${watch.elections}`);
      t.deepEqual(report.lost, [], 'every acknowledged write survived');
      t.true(report.acknowledged > 0);
      const pods = await memberPods(namespace, 'zk');
      t.is(pods.length, replicas);
      for (const pod of pods)
        t.not(pod.metadata?.uid, uidsBefore.get(pod.metadata?.name), `${pod.metadata?.name} was restarted`);
      const reasons = (await clusterEvents(namespace, 'zk')).filter((e) => e.startsWith('Restarting'));
      t.is(reasons.length, replicas, reasons.join('\n'));
      t.regex(reasons.at(-1) ?? '', new RegExp(`^RestartingLeader: restarting the leader ${leaderBefore} last`));
      t.true(
        reasons.slice(0, -1).every((r) => r.startsWith('RestartingFollower')),
        reasons.join('\n'),
      );
      t.is(watch.elections, 1, 'exactly one leader election for the whole roll');
      t.is(rolled.ready, `${replicas}/${replicas}`);
    },
  );
}
