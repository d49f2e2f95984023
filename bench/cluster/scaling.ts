/**
 * Scaling 3 -> 5 -> 3 under a steady writer, by the operator. Each step is timed from the
 * replicas change to the cluster settled at the new size; elections and the longest write gap
 * are counted per step. The summary sets each step against a baseline from the same run: the
 * mean restart-to-synced time of a member in the 3-member roll (about the least a new member
 * takes to start and sync).
 *
 * Checks: the cluster settles at each size, and every acknowledged write is read back.
 */
import {
  connectionString,
  createCluster,
  FORMED_MS,
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
import { epochChanges, explainGap, leaderlessMs } from './timeline.js';

export interface ScalingStep {
  from: number;
  to: number;
  /** From the replicas change to the cluster settled at the new size, in ms. */
  durationMs: number;
  elections: number;
  leaderlessMs: number[];
  longestGapMs: number;
  failedWrites: number;
  acknowledgedWrites: number;
  longestGapExplained: string[];
}

const CLUSTER = 'zk';

export async function scalingBenchmark(resultsDir: string, log: (line: string) => void): Promise<ScalingStep[]> {
  return inScenario('scaling', resultsDir, async ({ namespace }) => {
    await createCluster(namespace, CLUSTER, { replicas: 3, storage: { size: '1Gi' } });
    await waitForStatus(namespace, CLUSTER, 'settled', isSettled, FORMED_MS);
    const steps: ScalingStep[] = [];
    for (const [from, to] of [
      [3, 5],
      [5, 3],
    ] as const) {
      log(`scaling ${from} -> ${to}`);
      steps.push(await scaleStep(namespace, from, to));
    }
    return steps;
  });
}

async function scaleStep(namespace: string, from: number, to: number): Promise<ScalingStep> {
  const monitor = EnsembleMonitor.start(namespace, CLUSTER);
  const writer = await ZnodeWriter.start(() => connectionString(namespace, CLUSTER), `/bench-${from}-${to}`);
  const before = await leaderEpoch(() => memberPods(namespace, CLUSTER));
  const startedAtMs = Date.now();
  await patchCluster(namespace, CLUSTER, { spec: { replicas: to } });
  const settled = await waitForStatus(
    namespace,
    CLUSTER,
    `settled at ${to} members`,
    (status, cluster) => status.replicas === to && isSettled(status, cluster),
    ROLLED_MS,
  );
  const durationMs = Date.now() - startedAtMs;
  const report = await writer.stop();
  const after = await leaderEpoch(() => memberPods(namespace, CLUSTER));
  const samples = await monitor.stop();
  check(report.lost.length === 0, `${from} -> ${to}: ${report.lost.length} acknowledged writes lost`);
  check(report.acknowledged > 0, `${from} -> ${to}: the writer acknowledged no write`);
  check(settled.ready === `${to}/${to}`, `${from} -> ${to}: ${to} members ready, got ${settled.ready}`);
  const changes = epochChanges(samples).filter((c) => c.newLeaderAtMs >= startedAtMs);
  return {
    from,
    to,
    durationMs,
    elections: after.epoch - before.epoch,
    leaderlessMs: changes.map(leaderlessMs),
    longestGapMs: report.longestGapMs,
    failedWrites: report.failed,
    acknowledgedWrites: report.acknowledged,
    longestGapExplained: explainGap(report.longestGap, [], changes, report.incidents),
  };
}
