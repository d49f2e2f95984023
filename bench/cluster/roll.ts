/**
 * Roll disturbance: a config change that needs every member restarted, under a steady writer.
 *
 * - `operator`: the operator rolls (followers first, the leader last, each step gated on
 *   ZooKeeper's own view of synced voters).
 * - `handoff`: the same with `spec.rollingUpdate.leaderHandOff`: the last step moves leadership
 *   away by reconfig, restarts the old leader as a joiner and adds it back.
 * - `statefulset`: the baseline, what a plain StatefulSet `RollingUpdate` does: with the operator
 *   paused (it still renders the new pod template), the benchmark deletes the pods from the
 *   highest ordinal to the lowest, each after the previous one's replacement is Ready; nothing
 *   else gates it. Unpaused afterwards, the operator must report the roll as done.
 *
 * Checks (a failed one throws): every pod was replaced, every acknowledged write was read back,
 * and the operator reports the new revision on every member.
 */
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { REVISION_ANNOTATION } from '../../src/api/constants.js';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { parseSrvr } from '../../src/zookeeper/readings.js';
import { controlPlane } from '../../test/harness/fixture.js';
import { pollUntil } from '../../test/harness/poll.js';
import {
  connectionString,
  createCluster,
  FORMED_MS,
  isRunning,
  isSettled,
  memberPods,
  patchCluster,
  ROLLED_MS,
  waitForStatus,
} from '../../test/support/clusters.js';
import { leaderEpoch } from '../../test/support/leader-epoch.js';
import { ZnodeWriter } from '../../test/support/znode-writer.js';
import { EnsembleMonitor } from './ensemble-monitor.js';
import { check, inScenario } from './scenario.js';
import {
  betweenStepsReasons,
  epochChanges,
  explainGap,
  leaderlessMs,
  type MemberRestart,
  memberRestarts,
  type RollBreakdown,
  rollBreakdown,
} from './timeline.js';

export type RollStrategy = 'operator' | 'handoff' | 'statefulset';

export interface RollResult {
  strategy: RollStrategy;
  members: number;
  /** As the leader reports it (`srvr`). */
  zookeeperVersion: string;
  /** New leader epochs between the start and the end of the roll (ZooKeeper's own count). */
  elections: number;
  /** Per election: how long no leader was seen, in ms. */
  leaderlessMs: number[];
  longestGapMs: number;
  /**
   * The longest write gap of the leader's step: from the last other member synced on the new
   * revision to the roll seen finished (the leader's restart, or the hand-off, the old leader's
   * restart as a joiner and its re-add).
   */
  leaderStepGapMs: number;
  failedWrites: number;
  acknowledgedWrites: number;
  /** From the config change to the last member serving on the new revision, in ms. */
  rollMs: number;
  /** Where the roll time went; its `floorMs` is the sum of each member's restart-to-synced time. */
  breakdown: RollBreakdown;
  /** Restarts in the order they finished, with the leader at the start marked. */
  restarts: (MemberRestart & { wasLeader: boolean })[];
  /** What the operator reported while the roll sat between steps (pod Ready to the next stop). */
  betweenStepsReasons: string[];
  /** What happened during the longest write gap. */
  longestGapExplained: string[];
}

const CLUSTER = 'zk';

export async function rollBenchmark(
  strategy: RollStrategy,
  members: number,
  resultsDir: string,
  log: (line: string) => void,
): Promise<RollResult> {
  return inScenario(`roll-${strategy}-${members}`, resultsDir, async ({ namespace }) => {
    await createCluster(namespace, CLUSTER, {
      replicas: members,
      storage: { size: '1Gi' },
      ...(strategy === 'handoff' ? { rollingUpdate: { leaderHandOff: true } } : {}),
    });
    const formed = await waitForStatus(namespace, CLUSTER, 'settled', isSettled, FORMED_MS);
    if (strategy === 'statefulset') {
      await patchCluster(namespace, CLUSTER, { spec: { paused: true } });
      await waitForStatus(namespace, CLUSTER, 'paused', (s) => s.phase === 'Paused', 60_000);
    }
    const podsBefore = await memberPods(namespace, CLUSTER);
    const zookeeperVersion = await versionOf(podsBefore);
    const uidsBefore = new Map(podsBefore.map((p) => [p.metadata?.name, p.metadata?.uid]));
    const monitor = EnsembleMonitor.start(namespace, CLUSTER);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, CLUSTER), '/bench');
    const before = await leaderEpoch(() => memberPods(namespace, CLUSTER));
    log(`roll ${strategy} ${members}: leader ${before.leader} (epoch ${before.epoch}); changing the config`);

    const startedAtMs = Date.now();
    await patchCluster(namespace, CLUSTER, { spec: { config: { maxClientCnxns: '100' } } });
    if (strategy === 'statefulset') {
      await restartInOrdinalOrder(namespace, podsBefore.length, revisionOf(podsBefore[0]));
      await patchCluster(namespace, CLUSTER, { spec: { paused: false } });
    }
    const rolled = await waitForStatus(
      namespace,
      CLUSTER,
      'rolled to the new revision, every member a voter, and Running',
      (status, cluster) =>
        status.targetRevision !== formed.targetRevision &&
        isRunning(status, cluster) &&
        (status.members ?? []).filter((m) => m.voting).length === members,
      ROLLED_MS,
    );
    const rolledAtMs = Date.now();
    const report = await writer.stop();
    const after = await leaderEpoch(() => memberPods(namespace, CLUSTER));
    const samples = await monitor.stop();

    check(report.lost.length === 0, `${report.lost.length} acknowledged writes lost: ${report.lost.slice(0, 5)}`);
    check(report.acknowledged > 0, 'the writer acknowledged no write');
    const podsAfter = await memberPods(namespace, CLUSTER);
    check(
      podsAfter.length === members && podsAfter.every((p) => p.metadata?.uid !== uidsBefore.get(p.metadata?.name)),
      `every member pod replaced (before ${[...uidsBefore.values()]}, after ${podsAfter.map((p) => p.metadata?.uid)})`,
    );
    check(rolled.ready === `${members}/${members}`, `all ${members} members ready after the roll, got ${rolled.ready}`);
    const restarts = memberRestarts(samples).filter((r) => r.stoppedAtMs >= startedAtMs);
    check(restarts.length === members, `one restart per member seen, got ${restarts.map((r) => r.pod).join(', ')}`);
    const changes = epochChanges(samples).filter((c) => c.newLeaderAtMs >= startedAtMs);
    const lastSyncedMs = Math.max(...restarts.map((r) => r.syncedAtMs));
    const othersSyncedMs = Math.max(
      startedAtMs,
      ...restarts.filter((r) => r.pod !== before.leader).map((r) => r.syncedAtMs),
    );
    const leaderStepGapMs = Math.max(
      0,
      ...report.gaps.filter((g) => g.toMs > othersSyncedMs && g.fromMs < rolledAtMs).map((g) => g.toMs - g.fromMs),
    );
    return {
      strategy,
      members,
      zookeeperVersion,
      elections: after.epoch - before.epoch,
      leaderlessMs: changes.map(leaderlessMs),
      longestGapMs: report.longestGapMs,
      leaderStepGapMs,
      failedWrites: report.failed,
      acknowledgedWrites: report.acknowledged,
      rollMs: lastSyncedMs - startedAtMs,
      breakdown: rollBreakdown(startedAtMs, restarts),
      betweenStepsReasons: betweenStepsReasons(samples, restarts),
      restarts: restarts.map((r) => ({ ...r, wasLeader: r.pod === before.leader })),
      longestGapExplained: explainGap(report.longestGap, restarts, changes, report.incidents),
    };
  });
}

async function versionOf(pods: V1Pod[]): Promise<string> {
  const ip = pods[0]?.status?.podIP;
  const srvr = ip === undefined ? undefined : parseSrvr(await askFourLetterWord(ip, 2181, 'srvr'));
  return srvr?.version ?? 'unknown';
}

const revisionOf = (pod: { metadata?: { annotations?: Record<string, string> } } | undefined) =>
  pod?.metadata?.annotations?.[REVISION_ANNOTATION];

/**
 * A StatefulSet `RollingUpdate`, done by hand because the operator's StatefulSet uses `OnDelete`:
 * once the template has a new revision, each pod from the highest ordinal down is deleted, and
 * the next waits until its replacement is Ready.
 */
async function restartInOrdinalOrder(namespace: string, replicas: number, oldRevision: string | undefined) {
  const plane = await controlPlane();
  const apps = plane.kubeConfig.makeApiClient(AppsV1Api);
  const core = plane.kubeConfig.makeApiClient(CoreV1Api);
  await pollUntil(
    'the StatefulSet template to carry the new revision',
    async () => {
      const set = await apps.readNamespacedStatefulSet({ namespace, name: CLUSTER });
      return revisionOf(set.spec?.template) !== oldRevision ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  for (let ordinal = replicas - 1; ordinal >= 0; ordinal--) {
    const name = `${CLUSTER}-${ordinal}`;
    const old = await core.readNamespacedPod({ namespace, name });
    await core.deleteNamespacedPod({ namespace, name });
    await pollUntil(
      `${name}'s replacement to be Ready`,
      async () => {
        const pod = await core.readNamespacedPod({ namespace, name }).catch(() => undefined);
        const ready = (pod?.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
        return pod?.metadata?.uid !== old.metadata?.uid && ready ? true : undefined;
      },
      { timeoutMs: ROLLED_MS, intervalMs: 100 },
    );
  }
}
