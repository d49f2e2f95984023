/**
 * Rolling restarts end to end: the real control plane, the process kubelet running real
 * ZooKeeper, the operator under its RBAC, and a client writing throughout.
 */
import test, { type ExecutionContext } from 'ava';
import type { ZooKeeperClusterSpec } from '../../src/api/types.js';
import { newNamespace } from '../harness/fixture.js';
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
import { leaderEpoch } from '../support/leader-epoch.js';
import { grantLeaderElection, runOperator, startOperatorProcess } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

/**
 * A cluster of `spec`, formed, then a config change rolled under a writer until every member is a
 * voter on the new revision; checks that no acknowledged write was lost and every pod restarted.
 */
async function rollUnderWriter(t: ExecutionContext, spec: ZooKeeperClusterSpec & { replicas: number }) {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  await createCluster(namespace, 'zk', { storage: { size: '1Gi' }, ...spec });
  const formed = await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
  t.is(formed.ready, `${spec.replicas}/${spec.replicas}`);
  t.truthy(formed.leader);
  const uidsBefore = new Map((await memberPods(namespace, 'zk')).map((p) => [p.metadata?.name, p.metadata?.uid]));

  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/e2e');
  t.teardown(() => writer.stop().catch(() => undefined));
  const before = await leaderEpoch(() => memberPods(namespace, 'zk'));
  await patchCluster(namespace, 'zk', { spec: { config: { maxClientCnxns: '100' } } });
  const rolled = await waitForStatus(
    namespace,
    'zk',
    'rolled to the new revision, every member a voter, and Running',
    (status, cluster) =>
      status.targetRevision !== formed.targetRevision &&
      isRunning(status, cluster) &&
      (status.members ?? []).filter((m) => m.voting).length === spec.replicas,
    ROLLED_MS,
  );
  const report = await writer.stop();
  const after = await leaderEpoch(() => memberPods(namespace, 'zk'));

  t.log(
    `writes acknowledged ${report.acknowledged}, failed attempts ${report.failed}, longest gap ${report.longestGapMs} ms`,
  );
  t.log(`leader ${before.leader} (epoch ${before.epoch}) -> ${after.leader} (epoch ${after.epoch})`);
  t.deepEqual(report.lost, [], 'every acknowledged write survived');
  t.true(report.acknowledged > 0);
  const pods = await memberPods(namespace, 'zk');
  t.is(pods.length, spec.replicas);
  for (const pod of pods)
    t.not(pod.metadata?.uid, uidsBefore.get(pod.metadata?.name), `${pod.metadata?.name} was restarted`);
  t.is(rolled.ready, `${spec.replicas}/${spec.replicas}`);
  return { leaderBefore: formed.leader, before, after, rolled, events: await clusterEvents(namespace, 'zk') };
}

for (const replicas of [3, 5]) {
  test.serial(
    `a config change rolls all ${replicas} members, the leader last, with one election and no lost write`,
    async (t) => {
      const { leaderBefore, before, after, events } = await rollUnderWriter(t, { replicas });
      const reasons = events.filter((e) => e.startsWith('Restarting'));
      t.is(reasons.length, replicas, reasons.join('\n'));
      t.regex(reasons.at(-1) ?? '', new RegExp(`^RestartingLeader: restarting the leader ${leaderBefore} last`));
      t.true(
        reasons.slice(0, -1).every((r) => r.startsWith('RestartingFollower')),
        reasons.join('\n'),
      );
      t.is(after.epoch - before.epoch, 1, 'exactly one leader election (one new epoch) for the whole roll');
    },
  );
}

test.serial(
  'with leaderHandOff, the leader leaves the config, restarts as a joiner and is added back: no lost write, every member a voter again',
  async (t) => {
    const { leaderBefore, before, after, rolled, events } = await rollUnderWriter(t, {
      replicas: 3,
      rollingUpdate: { leaderHandOff: true },
    });
    const steps = events.filter((e) => /^(Restarting|HandingOffLeadership|ReplacingJoiner|AddingMember)/.test(e));
    t.deepEqual(
      steps.map((e) => e.split(':')[0]),
      ['RestartingFollower', 'RestartingFollower', 'HandingOffLeadership', 'ReplacingJoiner', 'AddingMember'],
      steps.join('\n'),
    );
    t.regex(steps[2] ?? '', new RegExp(`moving leadership away from ${leaderBefore} `));
    t.not(after.leader, before.leader, 'leadership moved to a follower that was already restarted');
    t.is(after.epoch - before.epoch, 1, 'one new epoch: the hand-off; the old leader never restarted as leader');
    t.is(rolled.quorum?.size, 3);
  },
);

test.serial(
  'an operator killed right after a leader hand-off is replaced by one that restarts the old leader as a joiner and adds it back',
  async (t) => {
    const namespace = await newNamespace(t);
    await grantLeaderElection(namespace);
    const first = await startOperatorProcess(namespace);
    t.teardown(() => first.child.kill('SIGKILL'));
    await createCluster(namespace, 'zk', {
      replicas: 3,
      storage: { size: '1Gi' },
      rollingUpdate: { leaderHandOff: true },
    });
    const formed = await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/handoff-takeover');
    t.teardown(() => writer.stop().catch(() => undefined));

    await patchCluster(namespace, 'zk', { spec: { config: { maxClientCnxns: '100' } } });
    await pollUntil(
      'the leader hand-off',
      async () =>
        (await clusterEvents(namespace, 'zk')).some((e) => e.startsWith('HandingOffLeadership')) ? true : undefined,
      { timeoutMs: ROLLED_MS, intervalMs: 100 },
    );
    first.child.kill('SIGKILL');
    const second = await startOperatorProcess(namespace);
    t.teardown(() => second.child.kill('SIGKILL'));
    const rolled = await waitForStatus(
      namespace,
      'zk',
      'the roll finished by the second operator, every member a voter again',
      (status, cluster) =>
        status.targetRevision !== formed.targetRevision &&
        isRunning(status, cluster) &&
        (status.members ?? []).filter((m) => m.voting).length === 3,
      ROLLED_MS,
    );
    const report = await writer.stop();
    t.log(`writes acknowledged ${report.acknowledged}, longest gap ${report.longestGapMs} ms`);
    t.deepEqual(report.lost, [], 'every acknowledged write survived');
    t.is(rolled.quorum?.size, 3);
    const events = await clusterEvents(namespace, 'zk');
    t.is(events.filter((e) => e.startsWith('HandingOffLeadership')).length, 1, 'one hand-off');
    t.true(
      second.output.some((line) => line.includes('replacing') && line.includes('joining server')),
      'the second operator restarted the old leader as a joiner',
    );
    t.false(
      events.some((e) => e.startsWith('RestartingLeader')),
      events.join('\n'),
    );
  },
);
