/**
 * Faults the operator did not cause, and must not make worse: the ensemble comes back by itself,
 * from its own data, with every acknowledged write.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import { parseCommittedConfig } from '../../src/zookeeper/reconfig-client.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import {
  clusterEvents,
  connectionString,
  createCluster,
  FORMED_MS,
  isRunning,
  memberPods,
  openClusterSession,
  patchCluster,
  ROLLED_MS,
  readCluster,
  waitForStatus,
} from '../support/clusters.js';
import { leaderEpoch } from '../support/leader-epoch.js';
import { runOperator } from '../support/operator.js';
import { containerProcessOf } from '../support/pods.js';
import { ZnodeWriter } from '../support/znode-writer.js';

/** How long a member's link stays down: longer than its session and sync timeouts, as a real partition. */
const CUT_MS = 25_000;

test.serial(
  'two of three members killed together: quorum lost, then regained from their claims, no write lost',
  async (t) => {
    const namespace = await newNamespace(t);
    await runOperator(t, namespace);
    const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Delete' } });
    await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/two-killed');
    t.teardown(() => writer.stop().catch(() => undefined));
    await pollUntil('100 acknowledged writes', async () => writer.count >= 100 || undefined, { timeoutMs: 60_000 });

    const claimUids = async () =>
      (await core.listNamespacedPersistentVolumeClaim({ namespace })).items
        .map((claim) => `${claim.metadata?.name}=${claim.metadata?.uid}`)
        .sort();
    const claimsBefore = await claimUids();
    const victims = (await memberPods(namespace, 'zk')).slice(0, 2);
    await Promise.all(
      victims.map((pod) =>
        core.deleteNamespacedPod({ namespace, name: pod.metadata?.name ?? '', gracePeriodSeconds: 0 }),
      ),
    );
    const killedAt = Date.now();

    // Nothing serves between the kill and the return; the operator keeps the members from voting on empty data.
    const lost = await pollUntil(
      'the status to report the lost quorum',
      async () => {
        const status = (await readCluster(namespace, 'zk')).status;
        return status?.phase === 'Unavailable' ? status : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    t.log(
      `${Date.now() - killedAt} ms after the kill: ${lost.conditions?.find((c) => c.type === 'Available')?.message}`,
    );
    const configMap = await core.readNamespacedConfigMap({ namespace, name: 'zk-config' });
    t.is(configMap.data?.bootstrap, 'false', 'members never vote on empty data once the ensemble exists');

    await waitForStatus(namespace, 'zk', 'Running again', isRunning, FORMED_MS);
    t.log(`Running again ${Date.now() - killedAt} ms after two of three members were killed`);
    const pods = await memberPods(namespace, 'zk');
    for (const victim of victims) {
      const now = pods.find((pod) => pod.metadata?.name === victim.metadata?.name);
      t.not(now?.metadata?.uid, victim.metadata?.uid, `${victim.metadata?.name} is a new pod`);
    }
    t.deepEqual(await claimUids(), claimsBefore, 'the members came back on their own claims');
    const report = await writer.stop();
    t.log(`writes acknowledged ${report.acknowledged}, failed ${report.failed}, longest gap ${report.longestGapMs} ms`);
    t.deepEqual(report.lost, [], 'every acknowledged write survived');
  },
);

test.serial(
  'a follower’s network cut during a roll: the roll never takes a second member down, heals the cut one, and finishes with no write lost',
  async (t) => {
    const namespace = await newNamespace(t);
    await runOperator(t, namespace);
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Delete' } });
    const formed = await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/network-cut');
    t.teardown(() => writer.stop().catch(() => undefined));
    await pollUntil('50 acknowledged writes', async () => writer.count >= 50 || undefined, { timeoutMs: 60_000 });

    const follower = (await memberPods(namespace, 'zk')).find((pod) => pod.metadata?.name !== formed.leader);
    if (follower === undefined) throw new Error('no follower');
    // Its link goes down inside its own namespace: it neither reaches its peers nor is reached.
    await promisify(execFile)('ip', ['-n', containerProcessOf(follower).netns, 'link', 'set', 'eth0', 'down']);
    const cutAt = Date.now();
    await waitForStatus(
      namespace,
      'zk',
      `Degraded naming ${follower.metadata?.name}`,
      (status) =>
        status.conditions?.some(
          (c) => c.type === 'Degraded' && c.status === 'True' && c.message.includes(follower.metadata?.name ?? ''),
        ) ?? false,
      60_000,
    );
    t.log(`reported Degraded ${Date.now() - cutAt} ms after the cut`);
    // A roll now: the two members left are a bare majority, so no serving member may go down.
    await patchCluster(namespace, 'zk', { spec: { config: { maxClientCnxns: '100' } } });

    const rolled = await waitForStatus(
      namespace,
      'zk',
      'rolled to the new revision and Running',
      (status, cluster) => status.targetRevision !== formed.targetRevision && isRunning(status, cluster),
      ROLLED_MS,
    );
    t.log(`rolled and Running ${Date.now() - cutAt} ms after the cut; leader ${rolled.leader}`);
    const events = await clusterEvents(namespace, 'zk');
    const restarts = events.filter((event) => event.startsWith('Restarting'));
    t.log(restarts.join('\n'));
    t.true(
      restarts[0]?.startsWith(`RestartingDownMember: restarting ${follower.metadata?.name}`) ?? false,
      'the member that was cut off goes first: it is down already, so restarting it costs nothing',
    );
    t.is(restarts.length, 3, 'one restart per member');
    const report = await writer.stop();
    t.log(`writes acknowledged ${report.acknowledged}, failed ${report.failed}, longest gap ${report.longestGapMs} ms`);
    t.deepEqual(report.lost, [], 'every acknowledged write survived');
  },
);

/** The zoo.cfg a running member's container reads at /config (its ZK_CONFIG_SOURCE on this host). */
async function configSourceZooCfg(pid: number): Promise<string> {
  const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
  const source = environ.find((entry) => entry.startsWith('ZK_CONFIG_SOURCE='))?.slice('ZK_CONFIG_SOURCE='.length);
  if (source === undefined) throw new Error(`process ${pid} has no ZK_CONFIG_SOURCE`);
  return readFile(join(source, 'zoo.cfg'), 'utf8');
}

/** The ConfigMap key pod's template projects to /config/zoo.cfg. */
const zooCfgKeyOf = (pod: V1Pod): string =>
  pod.spec?.volumes?.find((v) => v.name === 'config')?.configMap?.items?.find((item) => item.path === 'zoo.cfg')?.key ??
  '';

const isReady = (pod: V1Pod) => (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

test.serial(
  'an OOM kill (SIGKILL) of a second member while a roll is stalled on a bad config: it restarts on its own revision’s zoo.cfg, quorum comes back by itself, nothing lost',
  async (t) => {
    const namespace = await newNamespace(t);
    await runOperator(t, namespace);
    const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
    await createCluster(namespace, 'zk', {
      replicas: 3,
      storage: { size: '1Gi', reclaimPolicy: 'Delete' },
      rollingUpdate: { stepTimeoutSeconds: 30 },
    });
    const formed = await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const goodRevision = formed.targetRevision;
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/stalled-roll-kill');
    t.teardown(() => writer.stop().catch(() => undefined));
    await pollUntil('50 acknowledged writes', async () => writer.count >= 50 || undefined, { timeoutMs: 60_000 });
    const podsBefore = await memberPods(namespace, 'zk');
    const before = new Map(podsBefore.map((pod) => [pod.metadata?.name, pod.metadata?.uid]));
    // What each member started with: the file its container reads at /config/zoo.cfg.
    const startedWith = new Map(
      await Promise.all(
        podsBefore.map(
          async (pod) => [pod.metadata?.name, await configSourceZooCfg(containerProcessOf(pod).pid)] as const,
        ),
      ),
    );

    // A whole-number key the schema does not know: admission lets it through, ZooKeeper's
    // config parser refuses it (Integer.parseInt) and the member exits. (`maxCnxns=lots` would
    // not do: ZooKeeper reads that one with Integer.getInteger, which falls back to a default.)
    await patchCluster(namespace, 'zk', { spec: { config: { connectToLearnerMasterLimit: 'lots' } } });
    const stalled = await waitForStatus(
      namespace,
      'zk',
      'the roll stalled on the member restarted onto the bad config',
      (status) => status.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'RollStalled') ?? false,
      ROLLED_MS,
    );
    t.not(stalled.targetRevision, goodRevision);
    const pods = await memberPods(namespace, 'zk');
    const onBad = pods.filter((pod) => pod.metadata?.uid !== before.get(pod.metadata?.name));
    t.is(onBad.length, 1, 'the roll restarted one member');
    const broken = onBad[0] as V1Pod;
    t.is(
      broken.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode,
      2,
      `${broken.metadata?.name} ran ZooKeeper, which refused the config ("Invalid config, exiting abnormally")`,
    );

    const victim = pods.find((pod) => pod !== broken && pod.metadata?.name !== stalled.leader);
    if (victim === undefined) throw new Error('no follower left on the good revision');
    const victimName = victim.metadata?.name ?? '';
    const ownZooCfg = startedWith.get(victimName) ?? '';
    t.regex(ownZooCfg, /^tickTime=2000$/m);
    t.notRegex(ownZooCfg, /connectToLearnerMasterLimit/);

    const pid = containerProcessOf(victim).pid;
    t.is((await readFile(`/proc/${pid}/comm`, 'utf8')).trim(), 'java', 'the container process is the JVM');
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();

    const restarted = await pollUntil(
      `${victimName} restarted in place and Ready`,
      async () => {
        const pod = (await memberPods(namespace, 'zk')).find((p) => p.metadata?.name === victimName);
        const status = pod?.status?.containerStatuses?.[0];
        if (pod !== undefined && isReady(pod) && (status?.restartCount ?? 0) >= 1) return pod;
        const restarts = (await clusterEvents(namespace, 'zk')).filter((e) => e.startsWith('Restarting'));
        throw new Error(
          `${victimName}: uid ${pod?.metadata?.uid === victim.metadata?.uid ? 'unchanged' : 'changed'}, restarts ${status?.restartCount}, state ${JSON.stringify(status?.state)}; the operator's restarts: ${restarts.join(' | ')}`,
        );
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    t.is(restarted.metadata?.uid, victim.metadata?.uid, 'the same pod: its container restarted in place');
    t.is(
      await configSourceZooCfg(containerProcessOf(restarted).pid),
      ownZooCfg,
      'it started with its own revision’s zoo.cfg',
    );
    const available = await waitForStatus(
      namespace,
      'zk',
      'quorum back',
      (status) => status.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false,
      120_000,
    );
    t.log(`quorum back ${Date.now() - killedAt} ms after the SIGKILL; leader ${available.leader}`);
    const during = await memberPods(namespace, 'zk');
    for (const pod of during.filter((p) => p.metadata?.name !== broken.metadata?.name)) {
      t.is(
        pod.metadata?.uid,
        before.get(pod.metadata?.name),
        `${pod.metadata?.name} was not restarted by the operator`,
      );
    }
    const restartsWhileStalled = (await clusterEvents(namespace, 'zk')).filter((e) => e.startsWith('Restarting'));
    t.is(restartsWhileStalled.length, 1, restartsWhileStalled.join('\n'));

    // The fix: the bad key goes, which is the good revision again; the broken member goes back to it.
    await patchCluster(namespace, 'zk', { spec: { config: { connectToLearnerMasterLimit: null } } });
    const fixedAt = Date.now();
    const rolled = await waitForStatus(
      namespace,
      'zk',
      'back on the good revision and Running',
      (status, cluster) => status.targetRevision === goodRevision && isRunning(status, cluster),
      ROLLED_MS,
    );
    t.log(`Running ${Date.now() - fixedAt} ms after the fix; leader ${rolled.leader}`);
    const settledConfigMap = await core.readNamespacedConfigMap({ namespace, name: 'zk-config' });
    t.deepEqual(
      Object.keys(settledConfigMap.data ?? {}).filter((key) => /^zoo\.cfg\.[0-9a-f]{16}$/.test(key)),
      [zooCfgKeyOf(victim)],
      'the bad revision’s files are gone with its last member',
    );
    const report = await writer.stop();
    t.log(`writes acknowledged ${report.acknowledged}, failed ${report.failed}, longest gap ${report.longestGapMs} ms`);
    t.deepEqual(report.lost, [], 'every acknowledged write survived');
  },
);

/** The committed voters as ZooKeeper itself says (`sync`, then `/zookeeper/config`), read through a member. */
async function committedVoters(namespace: string, name: string): Promise<number[]> {
  const session = await openClusterSession(namespace, name);
  try {
    await session.sync('/zookeeper/config');
    return parseCommittedConfig((await session.getData('/zookeeper/config')).data.toString()).voters;
  } finally {
    await session.close();
  }
}

test.serial(
  'a follower’s network cut during a scale-up from 3 to 5: every reconfig keeps a synced majority, the scale-up finishes at 5 voters, no write lost',
  async (t) => {
    const namespace = await newNamespace(t);
    await runOperator(t, namespace);
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Delete' } });
    await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/cut-during-scale-up');
    t.teardown(() => writer.stop().catch(() => undefined));
    await pollUntil('50 acknowledged writes', async () => writer.count >= 50 || undefined, { timeoutMs: 60_000 });
    const before = await leaderEpoch(() => memberPods(namespace, 'zk'));

    await patchCluster(namespace, 'zk', { spec: { replicas: 5 } });
    await pollUntil(
      'the first joiner to be added',
      async () => ((await clusterEvents(namespace, 'zk')).some((e) => e.startsWith('AddingMember')) ? true : undefined),
      { timeoutMs: ROLLED_MS, intervalMs: 200 },
    );
    const { leader } = await leaderEpoch(() => memberPods(namespace, 'zk'));
    // An existing voter that follows: cutting the leader would be an election, a different fault.
    const follower = (await memberPods(namespace, 'zk')).find((pod) =>
      ['zk-0', 'zk-1', 'zk-2'].filter((name) => name !== leader).includes(pod.metadata?.name ?? ''),
    );
    if (follower === undefined) throw new Error(`no follower among zk-0..zk-2 (leader ${leader})`);
    const { netns } = containerProcessOf(follower);
    await promisify(execFile)('ip', ['-n', netns, 'link', 'set', 'eth0', 'down']);
    const cutAt = Date.now();
    t.teardown(() => promisify(execFile)('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']).catch(() => undefined));
    t.log(`${follower.metadata?.name} cut off (leader ${leader}) after the first joiner was added`);
    await new Promise((resolve) => setTimeout(resolve, CUT_MS));
    const duringCut = (await clusterEvents(namespace, 'zk')).filter((e) => /^(AddingMember|StartingJoiner)/.test(e));
    await promisify(execFile)('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    const restoredAt = Date.now();
    t.log(`steps by the end of the ${CUT_MS / 1000} s cut:\n${duringCut.join('\n')}`);

    const scaled = await waitForStatus(
      namespace,
      'zk',
      '5 voting members, Running',
      (status, cluster) => isRunning(status, cluster) && status.quorum?.size === 5 && status.ready === '5/5',
      ROLLED_MS,
    );
    t.log(
      `5 voters and Running ${Date.now() - restoredAt} ms after the link came back (${Date.now() - cutAt} ms after the cut)`,
    );
    t.deepEqual(await committedVoters(namespace, 'zk'), [1, 2, 3, 4, 5], 'ZooKeeper’s committed config has 5 voters');
    const report = await writer.stop();
    const after = await leaderEpoch(() => memberPods(namespace, 'zk'));
    t.log(`writes acknowledged ${report.acknowledged}, failed ${report.failed}, longest gap ${report.longestGapMs} ms`);
    t.log(`leader ${before.leader} (epoch ${before.epoch}) -> ${after.leader} (epoch ${after.epoch})`);
    t.deepEqual(report.lost, [], 'every acknowledged write survived');
    // ZooKeeper's evidence that no step left it without a quorum: a leader that loses its synced
    // majority steps down, and the next one starts a new epoch.
    t.is(after.epoch, before.epoch, 'the leader kept its quorum throughout: no election');
    const steps = (await clusterEvents(namespace, 'zk')).filter((e) => /^(AddingMember|RemovingMember)/.test(e));
    t.log(steps.join('\n'));
    t.deepEqual(
      steps.map((step) => /^AddingMember: adding (zk-\d)/.exec(step)?.[1]),
      ['zk-3', 'zk-4'],
      'one reconfig per joiner, no removal',
    );
    t.is(scaled.ready, '5/5');
  },
);
