/**
 * kube-apiserver restarted under the operator in the middle of a roll. Restarting the API server
 * would disturb every other test file sharing the run's control plane, so this file starts a
 * control plane and kubelet of its own (`useOwnTestEnvironment`), stopped when it ends.
 */
import test from 'ava';
import type { TestEnvironment } from '../harness/environment.js';
import { newNamespace, useOwnTestEnvironment } from '../harness/fixture.js';
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
import { runOperator } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

/**
 * How long kube-apiserver stays down: long enough for the operator's watches to be in back-off
 * and for the restarted member to come back in ZooKeeper while Kubernetes cannot say so, short of
 * the node-monitor grace period after which kube-controller-manager would mark the nodes NotReady.
 */
const OUTAGE_MS = 20_000;

let environment: TestEnvironment | undefined;
/** The environment's progress lines, which include any control-plane process that exited on its own. */
const environmentLog: string[] = [];

test.before(async () => {
  environment = await useOwnTestEnvironment((line) => environmentLog.push(line));
});

test.after.always(async () => {
  await environment?.stop();
});

test.serial(
  'kube-apiserver restarted mid-roll: the operator survives the outage and finishes the roll one member at a time, the leader last, no write lost',
  async (t) => {
    const plane = environment?.controlPlane;
    if (plane === undefined) throw new Error('the test environment did not start');
    const namespace = await newNamespace(t);
    const { operator, logger } = await runOperator(t, namespace);
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Delete' } });
    const formed = await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const leaderBefore = formed.leader;
    const uidsBefore = new Map((await memberPods(namespace, 'zk')).map((p) => [p.metadata?.name, p.metadata?.uid]));
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/apiserver-restart');
    t.teardown(() => writer.stop().catch(() => undefined));
    await pollUntil('50 acknowledged writes', async () => writer.count >= 50 || undefined, { timeoutMs: 60_000 });
    const before = await leaderEpoch(() => memberPods(namespace, 'zk'));

    await patchCluster(namespace, 'zk', { spec: { config: { maxClientCnxns: '100' } } });
    // The first member restarted: its pod is a new one, whether or not it is Ready yet.
    const firstRestarted = await pollUntil(
      'the roll to restart its first member',
      async () =>
        (await memberPods(namespace, 'zk')).find(
          (pod) => pod.metadata?.uid !== uidsBefore.get(pod.metadata?.name) && !pod.metadata?.deletionTimestamp,
        ),
      { timeoutMs: ROLLED_MS, intervalMs: 100 },
    );
    t.log(`${firstRestarted.metadata?.name} restarted first; restarting kube-apiserver now`);
    const restart = await plane.restartKubeApiserver({ downForMs: OUTAGE_MS });
    t.log(`kube-apiserver down ${restart.readyAt - restart.stoppedAt} ms (stop to ready again)`);

    const rolled = await waitForStatus(
      namespace,
      'zk',
      'rolled to the new revision and Running',
      (status, cluster) => status.targetRevision !== formed.targetRevision && isRunning(status, cluster),
      ROLLED_MS,
    );
    t.log(`rolled and Running ${Date.now() - restart.readyAt} ms after kube-apiserver was ready again`);
    const report = await writer.stop();
    const after = await leaderEpoch(() => memberPods(namespace, 'zk'));
    t.log(`writes acknowledged ${report.acknowledged}, failed ${report.failed}, longest gap ${report.longestGapMs} ms`);
    t.log(`leader ${before.leader} (epoch ${before.epoch}) -> ${after.leader} (epoch ${after.epoch})`);
    t.deepEqual(report.lost, [], 'every acknowledged write survived');

    // ZooKeeper's evidence: with a second member down while the first was not back, the leader
    // would have lost its quorum, which costs an election; the leader going last costs exactly one.
    t.is(after.epoch - before.epoch, 1, 'exactly one leader election for the whole roll');
    const restarts = (await clusterEvents(namespace, 'zk')).filter((e) => e.startsWith('Restarting'));
    t.log(restarts.join('\n'));
    t.is(restarts.length, 3, 'one restart per member');
    t.regex(restarts.at(-1) ?? '', new RegExp(`^RestartingLeader: restarting the leader ${leaderBefore} last`));
    const pods = await memberPods(namespace, 'zk');
    for (const pod of pods) {
      t.not(pod.metadata?.uid, uidsBefore.get(pod.metadata?.name), `${pod.metadata?.name} was restarted`);
    }
    t.is(rolled.ready, '3/3');

    // The operator lived through the outage: it finished the roll above, and its watches report ready.
    const watchFailures = logger.lines.filter((line) => line.message === 'watch failed; relisting after back-off');
    const relists = logger.lines.filter((line) => line.message === 'informer restarted');
    t.log(`the operator's watches failed ${watchFailures.length} times and relisted ${relists.length} times`);
    // Where the recovery time goes: kube-controller-manager reconnects its own watches with back-off,
    // and until then the budget's status still counts the first member as unhealthy.
    const refusedEvictions = logger.lines.filter((line) => line.message.includes('allows no disruption now'));
    t.log(`evictions the disruption budget refused: ${refusedEvictions.length}`);
    // The harness restarts kube-scheduler and kube-controller-manager when they exit, as a kubelet
    // restarts static pods: kube-scheduler v1.36 exits when its pod informer, relisting after the
    // outage, merges a member's deleted pod and its same-named replacement into one update.
    for (const restarted of plane.supervisedRestarts()) {
      t.log(
        `${restarted.component} ${restarted.exit} ${restarted.exitedAt - restart.readyAt} ms after kube-apiserver was ready again; started again ${restarted.readyAt - restarted.exitedAt} ms later`,
      );
    }
    for (const line of environmentLog.filter((l) => /unexpectedly|did not start again/.test(l))) t.log(line);
    const { host, port } = operator.probeAddress;
    const readiness = await fetch(`http://${host}:${port}/readyz`);
    t.is(readiness.status, 200, await readiness.text());
  },
);
