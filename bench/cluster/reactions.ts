/**
 * Reaction times, each against a baseline from the same run:
 * - create → every child object present, over clusters whose pods stay unscheduled (a node
 *   selector no node has), against the same objects created directly by a client one by one;
 * - a member's JVM killed (SIGKILL) → `Degraded=True` in the status, against the same kill →
 *   the leader no longer counting that member synced (ZooKeeper's own view, polled);
 * - a member pod deleted → the status back to every member serving and synced, against pod
 *   deleted → the new member serving (`srvr`).
 *
 * Checks: every child appears, the status names the killed member, the cluster settles again.
 */
import { readdir, readFile } from 'node:fs/promises';
import { CoreV1Api, type KubernetesObject, KubernetesObjectApi, type V1Pod } from '@kubernetes/client-node';
import { API_GROUP_VERSION, KIND } from '../../src/api/constants.js';
import type { ZooKeeperCluster, ZooKeeperClusterStatus } from '../../src/api/types.js';
import { renderCluster } from '../../src/render/cluster.js';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { parseMntr, parseSrvr } from '../../src/zookeeper/readings.js';
import { controlPlane } from '../../test/harness/fixture.js';
import { pollUntil } from '../../test/harness/poll.js';
import {
  createCluster,
  FORMED_MS,
  isSettled,
  memberPods,
  ROLLED_MS,
  waitForStatus,
} from '../../test/support/clusters.js';
import { check, inScenario } from './scenario.js';
import { percentile } from './timeline.js';

export interface ReactionTimes {
  /** Create to every child object present, per cluster, in ms. */
  createToChildrenMs: number[];
  /** The baseline: the same objects created directly by a client, per cluster, in ms. */
  directCreateMs: number[];
  /** JVM killed to `Degraded=True` in the status, and to the leader counting one synced follower fewer, in ms. */
  crashToDegradedMs: number;
  crashToLeaderNoticedMs: number;
  /** Pod deleted to the status saying every member serves and is synced again, and to the new member serving, in ms. */
  podDeletedToStatusMs: number;
  podDeletedToServingMs: number;
}

const CREATES = 12;
const NO_SUCH_NODE = { 'bench.zookeeper-operator.dev/no-such-node': 'true' };
const POLL_MS = 50;

/** Kind and name of every child the operator makes for a cluster called `name` (3 members). */
function childrenOf(namespace: string, name: string): KubernetesObject[] {
  const cluster: ZooKeeperCluster = {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    metadata: { name, namespace, uid: '00000000-0000-4000-8000-000000000000', generation: 1 },
    spec: { replicas: 3, pod: { nodeSelector: NO_SUCH_NODE } },
  };
  const rendered = renderCluster({ cluster, bootstrap: true });
  return [
    rendered.configMap,
    rendered.headlessService,
    rendered.clientService,
    rendered.statefulSet,
    rendered.podDisruptionBudget,
    ...(rendered.networkPolicy === undefined ? [] : [rendered.networkPolicy]),
  ] as KubernetesObject[];
}

async function createTimes(
  namespace: string,
  objects: KubernetesObjectApi,
): Promise<Pick<ReactionTimes, 'createToChildrenMs' | 'directCreateMs'>> {
  const createToChildrenMs: number[] = [];
  const directCreateMs: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    const name = `created-${i}`;
    const startedAtMs = Date.now();
    await createCluster(namespace, name, { replicas: 3, pod: { nodeSelector: NO_SUCH_NODE } });
    const children = childrenOf(namespace, name);
    await pollUntil(
      `every child of ${name}`,
      async () => {
        for (const child of children) await objects.read(child as KubernetesObject & { metadata: { name: string } });
        return true;
      },
      { timeoutMs: 60_000, intervalMs: POLL_MS },
    );
    createToChildrenMs.push(Date.now() - startedAtMs);

    // The baseline makes the same objects (owned by no cluster, so the operator leaves them alone).
    const direct = childrenOf(namespace, `direct-${i}`).map((c) => ({
      ...c,
      metadata: { ...c.metadata, ownerReferences: [] },
    }));
    const directStartedAtMs = Date.now();
    for (const object of direct) await objects.create(object);
    directCreateMs.push(Date.now() - directStartedAtMs);
  }
  return { createToChildrenMs, directCreateMs };
}

/** The JVM of `pod`: the QuorumPeerMain process in the process group the process kubelet started. */
async function jvmPid(pod: V1Pod): Promise<number> {
  const containerId = pod.status?.containerStatuses?.[0]?.containerID ?? '';
  const group = Number(/^process:\/\/[^/]+\/(\d+)$/.exec(containerId)?.[1]);
  check(Number.isInteger(group), `${pod.metadata?.name}'s container id names a process: ${containerId}`);
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command's closing parenthesis: state, ppid, pgrp.
    const processGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (processGroup !== group) continue;
    const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (command.includes('QuorumPeerMain')) return Number(entry);
  }
  throw new Error(`benchmark check failed: no QuorumPeerMain process in process group ${group}`);
}

/** How many followers the leader counts synced now (its `mntr`). */
async function syncedFollowers(pods: V1Pod[]): Promise<number | undefined> {
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    if (!ip) continue;
    const srvr = await askFourLetterWord(ip, 2181, 'srvr', 1_000)
      .then(parseSrvr)
      .catch(() => undefined);
    if (srvr?.mode !== 'leader') continue;
    return parseMntr(await askFourLetterWord(ip, 2181, 'mntr', 1_000))?.syncedFollowers;
  }
  return undefined;
}

const degradedNaming = (pod: string) => (status: ZooKeeperClusterStatus) => {
  const degraded = status.conditions?.find((c) => c.type === 'Degraded');
  return degraded?.status === 'True' && degraded.message.includes(pod);
};

async function crashTimes(
  namespace: string,
): Promise<Pick<ReactionTimes, 'crashToDegradedMs' | 'crashToLeaderNoticedMs'>> {
  const pods = await memberPods(namespace, 'zk');
  const victim = pods.find((p) => p.metadata?.name === 'zk-0') as V1Pod;
  const others = pods.filter((p) => p !== victim);
  const pid = await jvmPid(victim);
  const killedAtMs = Date.now();
  process.kill(pid, 'SIGKILL');
  const noticed = pollUntil(
    'the leader to count one synced follower fewer',
    async () => ((await syncedFollowers(others)) === 1 ? Date.now() - killedAtMs : undefined),
    { timeoutMs: 60_000, intervalMs: POLL_MS },
  );
  const degraded = waitForStatus(namespace, 'zk', 'Degraded naming zk-0', degradedNaming('zk-0'), 60_000).then(
    () => Date.now() - killedAtMs,
  );
  const [crashToLeaderNoticedMs, crashToDegradedMs] = await Promise.all([noticed, degraded]);
  await waitForStatus(namespace, 'zk', 'settled after the crash', isSettled, FORMED_MS);
  return { crashToDegradedMs, crashToLeaderNoticedMs };
}

async function podDeletionTimes(
  namespace: string,
): Promise<Pick<ReactionTimes, 'podDeletedToStatusMs' | 'podDeletedToServingMs'>> {
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const old = await core.readNamespacedPod({ namespace, name: 'zk-1' });
  const deletedAtMs = Date.now();
  await core.deleteNamespacedPod({ namespace, name: 'zk-1' });
  const serving = pollUntil(
    'the new zk-1 to serve',
    async () => {
      const pod = await core.readNamespacedPod({ namespace, name: 'zk-1' });
      const ip = pod.status?.podIP;
      if (pod.metadata?.uid === old.metadata?.uid || !ip) return undefined;
      const srvr = parseSrvr(await askFourLetterWord(ip, 2181, 'srvr', 1_000));
      return srvr?.mode === 'follower' || srvr?.mode === 'leader' ? Date.now() - deletedAtMs : undefined;
    },
    { timeoutMs: ROLLED_MS, intervalMs: POLL_MS },
  );
  // The status first has to notice the member gone, then back: wait for it to say so, then settled.
  await waitForStatus(namespace, 'zk', 'a member missing', (s) => s.readyReplicas !== 3, 60_000);
  const status = waitForStatus(namespace, 'zk', 'settled again', isSettled, ROLLED_MS).then(
    () => Date.now() - deletedAtMs,
  );
  const [podDeletedToServingMs, podDeletedToStatusMs] = await Promise.all([serving, status]);
  return { podDeletedToServingMs, podDeletedToStatusMs };
}

export async function reactionBenchmark(resultsDir: string, log: (line: string) => void): Promise<ReactionTimes> {
  const objects = KubernetesObjectApi.makeApiClient((await controlPlane()).kubeConfig);
  log(`reactions: ${CREATES} creates`);
  const creates = await inScenario('reactions-create', resultsDir, ({ namespace }) => createTimes(namespace, objects));
  log(`reactions: create p50 ${percentile(creates.createToChildrenMs, 50)} ms; member crash and pod deletion`);
  const member = await inScenario('reactions-member', resultsDir, async ({ namespace }) => {
    await createCluster(namespace, 'zk', { replicas: 3, storage: { size: '1Gi' } });
    await waitForStatus(namespace, 'zk', 'settled', isSettled, FORMED_MS);
    return { ...(await crashTimes(namespace)), ...(await podDeletionTimes(namespace)) };
  });
  return { ...creates, ...member };
}
