/**
 * Node drains against rolling restarts, end to end: the real control plane (its disruption
 * controller keeps the PodDisruptionBudget's status), the process kubelet running real
 * ZooKeeper, the operator under its RBAC, and a client writing throughout.
 *
 * The operator restarts members through the Eviction API, as `kubectl drain` evicts them, so the
 * cluster's PodDisruptionBudget (`maxUnavailable: 1`) lets only one of the two take a member down
 * at a time. How "down" is measured: an informer on the namespace's pods sees every change the API
 * server records, and after each one a member counts as down unless its pod exists, is not being
 * deleted and is Ready. Both the operator's restart and the drain's eviction start with the pod's
 * deletion, and a replacement turns Ready only after its member serves (the readiness probe asks
 * it), so these down-times cover the members' real ones. As a second view, ZooKeeper itself is
 * asked (`srvr` on every member, once a second) which members serve while one leads; that view is
 * logged, not asserted, since a sample can catch an election half done.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  makeInformer,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import test, { type ExecutionContext } from 'ava';
import type { ZooKeeperCluster, ZooKeeperClusterStatus } from '../../src/api/types.js';
import { askFourLetterWord } from '../../src/zookeeper/four-letter-word.js';
import { parseSrvr } from '../../src/zookeeper/readings.js';
import { toolEnvironment } from '../harness/controlplane.js';
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
import { leaderEpoch } from '../support/leader-epoch.js';
import { runOperator } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

const run = promisify(execFile);
const MEMBERS = ['zk-0', 'zk-1', 'zk-2'];
/** Labels this test's member pods, so the drain evicts them and nothing of the tests sharing the nodes. */
const DRAIN_LABEL = 'zookeeper-operator.test/drain';

const isReady = (pod: V1Pod | undefined) =>
  pod !== undefined &&
  pod.metadata?.deletionTimestamp === undefined &&
  (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Down members over time, from every pod change the API server records (see the module comment). */
class MemberAvailability {
  maxDownAtOnce = 0;
  /** `+<ms> zk-1 down` / `up`, relative to the start. */
  readonly timeline: string[] = [];
  /** Members whose pod was seen being deleted, in order, once per pod incarnation. */
  readonly deleted: string[] = [];
  private readonly deletedUids = new Set<string>();
  private readonly down = new Set<string>();
  private readonly started = Date.now();
  /** The informer's first list arrives one pod at a time: counting starts once it is complete. */
  private synced = false;
  private constructor(private readonly informer: ReturnType<typeof makeInformer<V1Pod>>) {}

  static async start(t: ExecutionContext, namespace: string): Promise<MemberAvailability> {
    const plane = await controlPlane();
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Pod>(plane.kubeConfig, `/api/v1/namespaces/${namespace}/pods`, () =>
      core.listNamespacedPod({ namespace }),
    );
    const availability = new MemberAvailability(informer);
    let stopped = false;
    for (const event of ['add', 'update', 'delete'] as const) informer.on(event, () => availability.observe());
    // A dropped watch is resumed; the relist then reports the pods as they are.
    informer.on('error', () => {
      if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 500);
    });
    await informer.start();
    t.teardown(async () => {
      stopped = true;
      await informer.stop();
    });
    availability.synced = true;
    availability.observe();
    return availability;
  }

  pod(name: string): V1Pod | undefined {
    return this.informer.list().find((p) => p.metadata?.name === name);
  }

  private observe(): void {
    if (!this.synced) return;
    const at = `+${Date.now() - this.started} ms`;
    for (const member of MEMBERS) {
      const pod = this.pod(member);
      const uid = pod?.metadata?.uid ?? '';
      if (pod?.metadata?.deletionTimestamp !== undefined && !this.deletedUids.has(uid)) {
        this.deletedUids.add(uid);
        this.deleted.push(member);
      }
      const up = isReady(pod);
      if (up && this.down.delete(member)) this.timeline.push(`${at} ${member} up`);
      if (!up && !this.down.has(member)) {
        this.down.add(member);
        this.timeline.push(`${at} ${member} down${pod === undefined ? ' (no pod)' : ''}`);
      }
    }
    this.maxDownAtOnce = Math.max(this.maxDownAtOnce, this.down.size);
  }
}

/** ZooKeeper's own view, sampled once a second: how many members did not serve while one led. */
function sampleServing(availability: MemberAvailability): { stop: () => Promise<string> } {
  let stopped = false;
  let samples = 0;
  let maxNotServing = 0;
  const loop = (async () => {
    while (!stopped) {
      const readings = await Promise.all(
        MEMBERS.map(async (member) => {
          const ip = availability.pod(member)?.status?.podIP;
          if (!ip) return undefined;
          const answer = await askFourLetterWord(ip, 2181, 'srvr', 1_000).catch(() => undefined);
          return answer === undefined ? undefined : parseSrvr(answer);
        }),
      );
      if (readings.some((r) => r?.mode === 'leader')) {
        samples++;
        maxNotServing = Math.max(maxNotServing, readings.filter((r) => r?.mode === undefined).length);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return `${samples} samples with a leader; at most ${maxNotServing} member(s) not serving in one`;
    },
  };
}

/** The budget the disruption controller maintains, once it has counted the three members healthy. */
async function healthyBudget(namespace: string) {
  const policy = (await controlPlane()).kubeConfig.makeApiClient(PolicyV1Api);
  return pollUntil(
    'the disruption controller to count 3 healthy members in the budget',
    async () => {
      const pdb = await policy.readNamespacedPodDisruptionBudget({ namespace, name: 'zk' });
      const s = pdb.status;
      if (s?.expectedPods === 3 && s.currentHealthy === 3 && s.desiredHealthy === 2 && s.disruptionsAllowed === 1)
        return pdb;
      throw new Error(`budget status ${JSON.stringify(s)}`);
    },
    { timeoutMs: 60_000 },
  );
}

/** `kubectl drain`, limited to this test's pods; it cordons, evicts, retries a refused eviction every 5 s, waits for deletion. */
async function kubectlDrain(node: string, namespace: string): Promise<string> {
  const plane = await controlPlane();
  const { stdout, stderr } = await run(
    plane.binaries.kubectl,
    [
      'drain',
      node,
      `--pod-selector=${DRAIN_LABEL}=${namespace}`,
      '--delete-emptydir-data',
      '--ignore-daemonsets',
      '--timeout=600s',
    ],
    { env: toolEnvironment(plane.describe()), maxBuffer: 16 << 20 },
  );
  return `${stdout}${stderr}`;
}

/** The maintenance is over: the node takes pods again (the shared nodes must be left as found). */
async function uncordon(node: string): Promise<void> {
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  await core.patchNode(
    { name: node, body: { spec: { unschedulable: null } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Every member runs a revision other than the one `formed` reported, and the cluster is Running. */
const rolledPast = (formed: ZooKeeperClusterStatus) => (status: ZooKeeperClusterStatus, cluster: ZooKeeperCluster) =>
  status.targetRevision !== formed.targetRevision && isRunning(status, cluster);

/** The operator's writes to pods: `METHOD path status`. */
const podWrites = (requests: { method: string; path: string; status: number | undefined }[]) =>
  requests
    .filter((r) => r.method !== 'GET' && /\/pods(\/|\?|$)/.test(r.path))
    .map((r) => `${r.method} ${r.path.replace(/\?.*$/, '')} ${r.status}`);

async function runningCluster(t: ExecutionContext) {
  const namespace = await newNamespace(t);
  const { requests } = await runOperator(t, namespace);
  await createCluster(namespace, 'zk', {
    replicas: 3,
    storage: { size: '1Gi' },
    pod: { labels: { [DRAIN_LABEL]: namespace } },
  });
  const formed = await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
  await healthyBudget(namespace);
  return { namespace, requests, formed };
}

test.serial(
  'a node drain during a roll: the budget lets the drain and the operator take one member at a time; the roll finishes with no write lost',
  async (t) => {
    const { namespace, requests, formed } = await runningCluster(t);
    const availability = await MemberAvailability.start(t, namespace);
    const serving = sampleServing(availability);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/drain');
    t.teardown(() => writer.stop().catch(() => undefined));

    await patchCluster(namespace, 'zk', { spec: { config: { maxClientCnxns: '100' } } });
    // The drain starts while the operator's first restart is under way.
    const restarted = await pollUntil("the operator's first restart", async () => availability.deleted[0], {
      timeoutMs: 120_000,
      intervalMs: 50,
    });
    const { leader } = await leaderEpoch(() => memberPods(namespace, 'zk'));
    const target = MEMBERS.find((m) => m !== restarted && m !== leader) ?? MEMBERS.find((m) => m !== restarted) ?? '';
    const node = availability.pod(target)?.spec?.nodeName ?? '';
    t.truthy(node, `${target} runs on a node`);
    const drainStarted = Date.now();
    t.teardown(() => uncordon(node));
    const drained = kubectlDrain(node, namespace).then((output) => ({ output, at: Date.now() }));

    const rolled = await waitForStatus(
      namespace,
      'zk',
      'rolled to the new revision and Running',
      rolledPast(formed),
      ROLLED_MS,
    );
    const recoveredAt = Date.now();
    const drain = await drained;
    const report = await writer.stop();
    const zookeeperView = await serving.stop();

    const refusals = drain.output.split('\n').filter((line) => line.includes('will retry after 5s')).length;
    t.log(`restart under way: ${restarted}; drained ${node}, which ran ${target} (leader ${leader})`);
    t.log(
      `kubectl drain: ${refusals} eviction(s) refused by the budget and retried; done after ${drain.at - drainStarted} ms`,
    );
    t.log(`recovery: Running on the new revision ${recoveredAt - drainStarted} ms after the drain started`);
    t.log(`members down at once (pod informer): at most ${availability.maxDownAtOnce}`);
    t.log(`pods deleted, in order: ${availability.deleted.join(', ')}`);
    t.log(`kubectl drain said:\n${drain.output.trim()}`);
    t.log(`ZooKeeper's view: ${zookeeperView}`);
    t.log(availability.timeline.join('\n'));
    t.log(
      `writes acknowledged ${report.acknowledged}, failed attempts ${report.failed}, longest gap ${report.longestGapMs} ms`,
    );
    t.log((await clusterEvents(namespace, 'zk')).join('\n'));

    t.deepEqual(report.lost, [], 'every acknowledged write survived');
    t.true(report.acknowledged > 0);
    t.is(availability.maxDownAtOnce, 1, 'never two members down at once, between the operator and the drain');
    t.regex(drain.output, new RegExp(`pod/${target} evicted`));
    t.true(refusals > 0, "the budget refused the drain while the operator's restart was under way");
    t.is(rolled.ready, '3/3');
    const pods = await memberPods(namespace, 'zk');
    t.deepEqual(
      pods.map((p) => p.metadata?.name),
      MEMBERS,
    );
    t.false(
      pods.some((p) => p.spec?.nodeName === node),
      'no member runs on the cordoned node',
    );
    const writes = podWrites(requests);
    // 404 and 409 are the drain's doing: the pod the operator meant was gone or replaced first.
    t.deepEqual(
      writes.filter((w) => !/^POST \S+\/eviction (201|404|409|429)$/.test(w)),
      [],
      'the operator wrote to pods only by eviction (no deletion)',
    );
    t.true(writes.some((w) => w.endsWith(' 201')));
  },
);

test.serial(
  "the operator's restart is refused while the budget is taken, waits with its reason, and goes on once it is free",
  async (t) => {
    const { namespace, requests, formed } = await runningCluster(t);
    const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
    const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), '/budget');
    t.teardown(() => writer.stop().catch(() => undefined));
    const uidsBefore = new Map((await memberPods(namespace, 'zk')).map((p) => [p.metadata?.name, p.metadata?.uid]));

    // Take the budget as an approved eviction does before its pod is deleted: the API server
    // approves this one (the budget allows one disruption) and counts zk-0 as disrupted, then the
    // deletion fails on the stale uid it names. zk-0 keeps serving and stays Ready; the
    // disruption controller holds the disruption against the budget for its 2-minute timeout.
    const takenAt = Date.now();
    const conflict = await t.throwsAsync(
      core.createNamespacedPodEviction({
        namespace,
        name: 'zk-0',
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: 'zk-0', namespace },
          deleteOptions: { preconditions: { uid: 'a-uid-zk-0-no-longer-has' } },
        },
      }),
    );
    t.is((conflict as { code?: number }).code, 409);
    const policy = (await controlPlane()).kubeConfig.makeApiClient(PolicyV1Api);
    const taken = await policy.readNamespacedPodDisruptionBudget({ namespace, name: 'zk' });
    t.is(taken.status?.disruptionsAllowed, 0);
    t.truthy(taken.status?.disruptedPods?.['zk-0']);

    await patchCluster(namespace, 'zk', { spec: { config: { maxClientCnxns: '100' } } });
    const waiting = await waitForStatus(
      namespace,
      'zk',
      'the roll waiting on the budget',
      (status) =>
        status.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'DisruptionBudgetExhausted') ?? false,
      ROLLED_MS,
    );
    const condition = waiting.conditions?.find((c) => c.type === 'Progressing');
    t.log(`${condition?.reason}: ${condition?.message}`);
    t.regex(
      condition?.message ?? '',
      /^restarting zk-\d waits: the PodDisruptionBudget zk allows no disruption now \(The disruption budget zk needs 2 healthy pods and has 2 currently\)\. Another member is down or being evicted, e\.g\. by a node drain; the roll goes on by itself/,
    );
    const events = await clusterEvents(namespace, 'zk');
    t.true(
      events.some((e) => e.startsWith('DisruptionBudgetExhausted: restarting zk-')),
      events.join('\n'),
    );
    const refusedAt = Date.now();
    t.deepEqual(
      new Map((await memberPods(namespace, 'zk')).map((p) => [p.metadata?.name, p.metadata?.uid])),
      uidsBefore,
      'no member was restarted while the budget was taken',
    );
    t.true(podWrites(requests).some((w) => /^POST \S+\/eviction 429$/.test(w)));

    // The other disruption ends: its entry leaves the budget's status, as the disruption
    // controller would drop it after its 2-minute DeletionTimeout, without the wait.
    await policy.patchNamespacedPodDisruptionBudgetStatus(
      { namespace, name: 'zk', body: { status: { disruptedPods: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const rolled = await waitForStatus(
      namespace,
      'zk',
      'rolled to the new revision and Running once the budget is free',
      rolledPast(formed),
      ROLLED_MS,
    );
    const doneAt = Date.now();
    const report = await writer.stop();
    t.log(
      `budget taken at 0 ms; refusal seen at ${refusedAt - takenAt} ms; budget freed then; roll done at ${doneAt - takenAt} ms`,
    );
    t.log(
      `writes acknowledged ${report.acknowledged}, failed attempts ${report.failed}, longest gap ${report.longestGapMs} ms`,
    );
    t.deepEqual(report.lost, [], 'every acknowledged write survived');
    t.true(report.acknowledged > 0);
    t.is(rolled.ready, '3/3');
    for (const pod of await memberPods(namespace, 'zk'))
      t.not(pod.metadata?.uid, uidsBefore.get(pod.metadata?.name), `${pod.metadata?.name} was restarted`);
    t.deepEqual(
      podWrites(requests).filter((w) => !/^POST \S+\/eviction (201|429)$/.test(w)),
      [],
      'the operator wrote to pods only by eviction: a refusal never became a deletion',
    );
  },
);
