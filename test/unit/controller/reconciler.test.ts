/**
 * The reconciler against fakes of its edges, asserting the exact writes and Events each
 * situation produces (the style of cert-manager's controller tests).
 */
import type {
  V1ConfigMap,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
  V1StatefulSet,
} from '@kubernetes/client-node';
import test from 'ava';
import { DIGEST_USERS_ANNOTATION, REVISION_ANNOTATION } from '../../../src/api/constants.js';
import type { ZooKeeperCluster, ZooKeeperClusterSpec, ZooKeeperClusterStatus } from '../../../src/api/types.js';
import type { ClusterCache, HealthObserver, OwnedKind } from '../../../src/controller/dependencies.js';
import { FORMED_ANNOTATION } from '../../../src/controller/formation.js';
import { clusterReconciler } from '../../../src/controller/reconciler.js';
import type { EvictionOutcome } from '../../../src/controller/rolling-restart.js';
import { type DesiredObjects, renderCluster } from '../../../src/render/cluster.js';
import type { OperatorPod } from '../../../src/render/network-policy.js';
import { clusterGauges } from '../../../src/runtime/cluster-gauges.js';
import type { ReconcileContext } from '../../../src/runtime/controller.js';
import type { OwnedObject } from '../../../src/runtime/kube-writer.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import { OperatorMetrics } from '../../../src/runtime/metrics.js';
import type { MemberReading } from '../../../src/zookeeper/health.js';
import { aCluster } from '../../support/builders.js';

class World implements ClusterCache {
  readonly objects = new Map<string, OwnedObject>();
  readonly pods: V1Pod[] = [];
  readonly claimObjects: V1PersistentVolumeClaim[] = [];
  readonly writes: string[] = [];
  readonly events: string[] = [];
  failApplyWith: unknown;
  failStatusWith: unknown;
  failResizeWith: unknown;
  /** What ZooKeeper answers to the next reconfig, when it refuses it. */
  failReconfigWith: unknown;
  secretCreated = false;
  /** Secrets the user created, by name (the SASL users'). */
  readonly userSecrets = new Map<string, V1Secret>();
  /** Owner references of a super-user Secret that exists without this cluster as owner. */
  foreignSecret: V1OwnerReference[] | undefined;
  /** False: no member has a quorum, so none serves or answers `conf` (as after losing pods). */
  quorum = true;
  /** What readings reused from a moment ago say, when set; a fresh read always sees what is true now. */
  reusedReadings: MemberReading[] | undefined;
  /** Every read of the members: `fresh` when it had to reuse nothing. */
  readonly reads: ('mayReuse' | 'fresh')[] = [];
  /** What the Eviction API answers to the next evictions; then each pod is evicted. */
  readonly evictionAnswers: EvictionOutcome[] = [];

  /** Server ids a reconfig removed: they serve on as non-voting followers, as ZooKeeper's removed members do. */
  readonly removedFromConfig = new Set<number>();
  /** The committed config version: each reconfig makes a new one. */
  configVersion = 0x100000000;

  /** What ZooKeeper answers when every pod here serves: the highest committed server id leads. */
  healthyReadings(): MemberReading[] {
    const ids = this.pods.map((_, ordinal) => ordinal + 1);
    const voters = ids.filter((id) => !this.removedFromConfig.has(id));
    const leader = Math.max(...voters);
    const conf = {
      serverId: 0,
      members: voters.map((myid) => ({ myid, host: `example-${myid - 1}`, role: 'participant' as const })),
      configVersion: this.configVersion.toString(16),
    };
    return ids.map((myid) => ({
      pod: `example-${myid - 1}`,
      myid,
      srvr: { version: '3.9.4', mode: myid === leader ? 'leader' : 'follower', zxid: '0x100000001', epoch: 1 },
      mntr:
        myid === leader
          ? {
              serverState: 'leader',
              peerState: 'leading - broadcast',
              quorumSize: voters.length,
              syncedFollowers: ids.length - 1,
              syncedNonVotingFollowers: ids.length - voters.length,
            }
          : { serverState: 'follower', peerState: 'following - broadcast' },
      conf: { ...conf, serverId: myid },
    }));
  }

  constructor(public clusterObject: ZooKeeperCluster | undefined) {}

  cluster() {
    return this.clusterObject;
  }
  owned(kind: OwnedKind, _namespace: string, name: string) {
    return this.objects.get(`${kind}/${name}`);
  }
  memberPods() {
    return this.pods;
  }
  claims() {
    return this.claimObjects;
  }

  reconcile(options: { operatorPod?: OperatorPod; health?: HealthObserver } = {}) {
    const reconciler = clusterReconciler({
      userSecrets: { read: async (_namespace, name) => this.userSecrets.get(name) },
      ...options,
      cache: this,
      writer: {
        apply: async (object) => {
          this.writes.push(`apply ${object.kind}/${object.metadata?.name}`);
          if (this.failApplyWith !== undefined) throw this.failApplyWith;
          const stored = structuredClone(object);
          stored.metadata = { uid: `${object.kind}-uid`, ...stored.metadata };
          this.objects.set(`${object.kind}/${object.metadata?.name}`, stored);
        },
        evictPod: async (_namespace, name, uid) => {
          this.writes.push(`evict pod ${name} (uid ${uid})`);
          return this.evictionAnswers.shift() ?? { kind: 'evicted' };
        },
        superUserSecret: async (_namespace, name) => {
          if (this.foreignSecret !== undefined) return { kind: 'notOwned', ownerReferences: this.foreignSecret };
          if (!this.secretCreated) this.writes.push(`create Secret/${name}`);
          this.secretCreated = true;
          return { kind: 'owned', password: 'secret' };
        },
        deleteNetworkPolicy: async (_namespace, name, uid) => {
          this.writes.push(`delete NetworkPolicy/${name} (uid ${uid})`);
          this.objects.delete(`NetworkPolicy/${name}`);
        },
        deleteClaim: async (_namespace, name) => {
          this.writes.push(`delete claim ${name}`);
        },
        markClaim: async (_namespace, name, annotation, version) => {
          this.writes.push(`mark claim ${name} ${annotation}=${version}`);
          const claim = this.claimObjects.find((c) => c.metadata?.name === name);
          if (claim?.metadata) claim.metadata.annotations = { ...claim.metadata.annotations, [annotation]: version };
        },
        annotatePod: async (_namespace, name, uid, annotation, value) => {
          this.writes.push(`annotate pod ${name} (uid ${uid}) ${annotation}=${value}`);
          const pod = this.pods.find((p) => p.metadata?.uid === uid);
          if (pod?.metadata) pod.metadata.annotations = { ...pod.metadata.annotations, [annotation]: value };
        },
        resizeClaim: async (_namespace, name, size) => {
          this.writes.push(`resize claim ${name} to ${size}`);
          if (this.failResizeWith !== undefined) throw this.failResizeWith;
        },
        deleteStatefulSetKeepingPods: async (_namespace, name, uid) => {
          this.writes.push(`delete StatefulSet/${name} (uid ${uid}) keeping its pods`);
        },
        applyClusterStatus: async (_namespace, name, status) => {
          this.writes.push(`status ${name} ${status.phase}`);
          if (this.failStatusWith !== undefined) throw this.failStatusWith;
          if (this.clusterObject) this.clusterObject = { ...this.clusterObject, status: structuredClone(status) };
        },
      },
      ensemble: {
        read: async (_members, _ports, options) => {
          this.reads.push(options?.fresh ? 'fresh' : 'mayReuse');
          if (!options?.fresh && this.reusedReadings !== undefined) return this.reusedReadings;
          return this.quorum ? this.healthyReadings() : this.healthyReadings().map(({ pod, myid }) => ({ pod, myid }));
        },
      },
      membership: (servers) => ({
        read: async () => {
          throw new Error('not used');
        },
        add: async (serverLine, fromVersion) => {
          this.writes.push(`reconfig add ${serverLine} from ${fromVersion} via ${servers.length} server(s)`);
          this.removedFromConfig.delete(Number(/^server\.(\d+)=/.exec(serverLine)?.[1]));
          this.configVersion += 1;
          return {
            config: { members: [], voters: [], version: fromVersion },
            alreadyApplied: false,
            connectionLost: false,
          };
        },
        remove: async (myid, fromVersion) => {
          if (this.failReconfigWith !== undefined) throw this.failReconfigWith;
          this.writes.push(`reconfig remove ${myid} from ${fromVersion}`);
          this.removedFromConfig.add(myid);
          this.configVersion += 1;
          return {
            config: { members: [], voters: [], version: fromVersion },
            alreadyApplied: false,
            connectionLost: false,
          };
        },
        move: async (serverLine, fromVersion) => {
          this.writes.push(`reconfig move ${serverLine} from ${fromVersion}`);
          return {
            config: { members: [], voters: [], version: fromVersion },
            alreadyApplied: false,
            connectionLost: false,
          };
        },
        commitWrite: async () => {
          this.writes.push('commit write');
        },
      }),
      events: {
        record: async (_target, type, reason, message) => {
          this.events.push(`${type} ${reason}: ${message}`);
          return true;
        },
      },
      now: () => new Date('2026-11-25T12:00:00Z'),
    });
    const ctx: ReconcileContext = {
      key: 'default/example',
      reconcileId: 'r',
      logger: new MemoryLogger(),
      signal: new AbortController().signal,
    };
    return reconciler('default/example', ctx);
  }

  /** Member pods as the StatefulSet controller and kubelet would make them: ready, on a revision. */
  addReadyPods(count: number, revision: string) {
    for (let ordinal = 0; ordinal < count; ordinal++) {
      this.pods.push({
        metadata: {
          name: `example-${ordinal}`,
          uid: `uid-${ordinal}-${revision}`,
          annotations: { [REVISION_ANNOTATION]: revision },
          creationTimestamp: new Date('2026-11-25T11:00:00Z'),
        },
        spec: { containers: [{ name: 'zookeeper', image: 'zookeeper:3.9.4' }] },
        status: { podIP: `10.0.0.${ordinal + 1}`, conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
  }

  /** The user edits the spec; what was written and recorded so far is forgotten. */
  edit(spec: ZooKeeperClusterSpec): ZooKeeperCluster {
    const edited = { ...cluster(spec), status: this.clusterObject?.status ?? {} };
    this.clusterObject = edited;
    this.writes.length = 0;
    this.events.length = 0;
    return edited;
  }

  /** Data claims of the member pods, bound with this size. */
  addClaims(size: string) {
    for (const pod of this.pods) {
      this.claimObjects.push({
        metadata: { name: `data-${pod.metadata?.name}` },
        spec: { resources: { requests: { storage: size } } },
        status: { phase: 'Bound', capacity: { storage: size } },
      });
    }
  }

  /** A formed, healthy ensemble of `count` members with bound claims of the rendered size. */
  async formed(count: number, size: string) {
    await this.reconcile();
    this.addReadyPods(count, renderCluster({ cluster: cluster({ replicas: count }), bootstrap: true }).revision);
    this.addClaims(size);
    await this.reconcile();
    await this.reconcile();
  }
}

/** An API error as client-node throws it for a 403 with this message. */
const forbidden = (message: string) =>
  Object.assign(new Error('HTTP-Code: 403'), {
    code: 403,
    body: JSON.stringify({ kind: 'Status', reason: 'Forbidden', code: 403, message }),
  });

const cluster = (spec: ZooKeeperClusterSpec = {}, status?: ZooKeeperClusterStatus) => ({
  ...aCluster(spec),
  ...(status ? { status } : {}),
});

test('a new cluster: every object is applied in order, then the status, each with an Event', async (t) => {
  const world = new World(cluster());
  const outcome = await world.reconcile();
  t.deepEqual(world.writes, [
    'create Secret/example-super-user',
    'apply ConfigMap/example-config',
    'apply NetworkPolicy/example',
    'apply Service/example-headless',
    'apply Service/example-client',
    'apply StatefulSet/example',
    'apply PodDisruptionBudget/example',
    'apply ConfigMap/example-connection',
    'status example Creating',
  ]);
  t.deepEqual(world.events, [
    'Normal Created: Created ConfigMap example-config',
    'Normal Created: Created NetworkPolicy example',
    'Normal Created: Created Service example-headless',
    'Normal Created: Created Service example-client',
    'Normal Created: Created StatefulSet example',
    'Normal Created: Created PodDisruptionBudget example',
    'Normal Created: Created ConfigMap example-connection',
  ]);
  t.deepEqual(
    outcome,
    { requeueAfterMs: 30_000 },
    'no member to read yet: the pods’ events bring it back, not a 2 s poll (1,000 unscheduled clusters would poll 500 times a second)',
  );
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  world.quorum = false;
  const addressed = world.pods.map((pod) => pod.status ?? {});
  for (const pod of world.pods) pod.status = { conditions: [] };
  t.deepEqual(await world.reconcile(), { requeueAfterMs: 30_000 }, 'pods without an address: still nothing to read');
  for (const [ordinal, pod] of world.pods.entries()) pod.status = addressed[ordinal] ?? {};
  t.deepEqual(
    await world.reconcile(),
    { requeueAfterMs: 2_000 },
    'members to read that have no quorum: looked at again soon',
  );
});

test('the gauges of a deleted cluster are removed, and a live cluster’s roll progress is reported', async (t) => {
  const metrics = new OperatorMetrics({ processMetrics: false });
  const health = clusterGauges(metrics);
  const series = async () => (await metrics.registry.getMetricsAsJSON()).flatMap((m) => m.values.map(() => m.name));
  const world = new World(cluster());
  await world.reconcile({ health });
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile({ health });
  const live = await series();
  for (const name of ['zookeeper_cluster_fault_tolerance', 'zookeeper_cluster_roll_members_outdated']) {
    t.true(live.includes(name), name);
  }
  world.clusterObject = undefined;
  await world.reconcile({ health });
  t.deepEqual(await series(), [], 'no series of the deleted cluster remains');
});

test('an unchanged, healthy cluster: no write calls and no Events at all', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile(); // status: Running
  await world.reconcile(); // the ensemble formed: the bootstrap marker turns off
  world.writes.length = 0;
  world.events.length = 0;
  const outcome = await world.reconcile();
  t.deepEqual(world.writes, []);
  t.deepEqual(world.events, []);
  t.deepEqual(outcome, { requeueAfterMs: 30_000 }, 'a healthy cluster is only re-checked now and then');
  t.is(world.clusterObject?.status?.phase, 'Running');
});

test('a changed image updates only the StatefulSet', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  world.edit({ image: 'zookeeper:3.9.3' });
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => w.startsWith('apply')),
    ['apply StatefulSet/example'],
  );
  t.deepEqual(world.events, ['Normal Updated: Updated StatefulSet example']);
});

test('a spec the operator cannot act on: nothing is applied, status and a Warning Event say why', async (t) => {
  const world = new World(cluster({ resources: { limits: { memory: '1Gi' } }, jvm: { heapMiB: 2048 } }));
  await world.reconcile();
  t.deepEqual(world.writes, ['status example Creating']);
  t.is(world.events.length, 1);
  t.regex(world.events[0] ?? '', /^Warning HeapExceedsMemoryLimit: jvm\.heapMiB \(2048 MiB\) must be smaller/);
  const degraded = world.clusterObject?.status?.conditions?.find((c) => c.type === 'Degraded');
  t.is(degraded?.reason, 'HeapExceedsMemoryLimit');
});

test('a forbidden apply is reported as a missing permission and retried with back-off', async (t) => {
  const world = new World(cluster());
  world.failApplyWith = forbidden(
    'configmaps "example-config" is forbidden: User "system:serviceaccount:zk:op" cannot patch resource "configmaps" in API group "" in the namespace "default"',
  );
  await t.throwsAsync(world.reconcile());
  t.deepEqual(world.writes, [
    'create Secret/example-super-user',
    'apply ConfigMap/example-config',
    'status example Creating',
  ]);
  t.regex(world.events.join('\n'), /Warning PermissionDenied: the operator lacks a permission: .*patch.*configmaps/);
  t.is(world.clusterObject?.status?.conditions?.find((c) => c.type === 'Degraded')?.reason, 'PermissionDenied');
});

test('a changed config restarts one member per reconcile: followers first, the leader last', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile();
  const edited = world.edit({ config: { tickTime: '3000' } });
  const newRevision = renderCluster({ cluster: edited, bootstrap: false }).revision;
  const evicted: string[] = [];
  for (let round = 0; round < 3; round++) {
    world.writes.length = 0;
    await world.reconcile();
    const eviction = world.writes.find((w) => w.startsWith('evict pod'));
    t.truthy(eviction, `round ${round} restarts a member`);
    const name = /evict pod (\S+)/.exec(eviction ?? '')?.[1] ?? '';
    evicted.push(name);
    // The StatefulSet controller and kubelet bring it back on the new revision, serving.
    const pod = world.pods.find((p) => p.metadata?.name === name);
    if (pod?.metadata)
      pod.metadata = { ...pod.metadata, uid: `${name}-new`, annotations: { [REVISION_ANNOTATION]: newRevision } };
  }
  t.deepEqual(evicted, ['example-1', 'example-0', 'example-2']);
  t.regex(world.events.join('\n'), /Normal RestartingLeader: restarting the leader example-2 last/);
  world.writes.length = 0;
  await world.reconcile();
  t.false(
    world.writes.some((w) => w.startsWith('evict pod')),
    'the roll is done',
  );
  t.is(world.clusterObject?.status?.phase, 'Running');
});

test('mid-roll the ConfigMap keeps the files of the members not yet restarted, and drops them after the last', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  const first = renderCluster({ cluster: cluster(), bootstrap: true });
  world.addReadyPods(3, first.revision);
  const runOn = (pod: V1Pod, rendered: DesiredObjects) => {
    pod.spec = rendered.statefulSet.spec?.template.spec ?? { containers: [] };
  };
  for (const pod of world.pods) runOn(pod, first);
  await world.reconcile();
  const next = renderCluster({ cluster: world.edit({ config: { tickTime: '3000' } }), bootstrap: false });
  const zooCfgKey = (rendered: DesiredObjects) =>
    rendered.statefulSet.spec?.template.spec?.volumes
      ?.find((v) => v.name === 'config')
      ?.configMap?.items?.find((item) => item.path === 'zoo.cfg')?.key ?? '';
  const revisionsHeld = () =>
    Object.keys((world.objects.get('ConfigMap/example-config') as V1ConfigMap).data ?? {}).filter(
      (key) => key.startsWith('zoo.cfg.') && key !== 'zoo.cfg.dynamic',
    );
  for (let round = 0; round < 3; round++) {
    world.writes.length = 0;
    await world.reconcile();
    t.deepEqual(revisionsHeld(), [zooCfgKey(first), zooCfgKey(next)].sort(), `round ${round}: both revisions' files`);
    const name = /evict pod (\S+)/.exec(world.writes.find((w) => w.startsWith('evict pod')) ?? '')?.[1] ?? '';
    const pod = world.pods.find((p) => p.metadata?.name === name);
    if (pod?.metadata === undefined) return t.fail(`round ${round} restarted no member`);
    pod.metadata = { ...pod.metadata, uid: `${name}-new`, annotations: { [REVISION_ANNOTATION]: next.revision } };
    runOn(pod, next);
  }
  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(revisionsHeld(), [zooCfgKey(next)], 'no member runs the old revision any more');
  t.true(world.writes.includes('apply ConfigMap/example-config'));
  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(world.writes, [], 'settled: no write calls');
});

test('leader hand-off: the leader leaves the config, restarts as a joiner and is added back; no restart of a voter leader', async (t) => {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  const edited = world.edit({ config: { tickTime: '3000' }, rollingUpdate: { leaderHandOff: true } });
  const newRevision = renderCluster({ cluster: edited, bootstrap: false }).revision;
  const comeBack = (name: string) => {
    const pod = world.pods.find((p) => p.metadata?.name === name);
    if (pod?.metadata)
      pod.metadata = { ...pod.metadata, uid: `${name}-new`, annotations: { [REVISION_ANNOTATION]: newRevision } };
  };
  const uid = (name: string) => world.pods.find((p) => p.metadata?.name === name)?.metadata?.uid ?? '';
  const uids = [uid('example-1'), uid('example-0'), uid('example-2')];
  const steps: string[] = [];
  for (let round = 0; round < 6; round++) {
    world.writes.length = 0;
    await world.reconcile();
    const step = world.writes.find((w) => w.startsWith('evict pod') || w.startsWith('reconfig'));
    if (step === undefined) break;
    steps.push(step.replace(/ via \d+ server\(s\)/, ''));
    const evicted = /^evict pod (\S+)/.exec(step)?.[1];
    if (evicted !== undefined) comeBack(evicted);
  }
  t.deepEqual(steps, [
    `evict pod example-1 (uid ${uids[0]})`,
    `evict pod example-0 (uid ${uids[1]})`,
    'reconfig remove 3 from 100000000',
    `evict pod example-2 (uid ${uids[2]})`,
    'reconfig add server.3=example-2.example-headless.default.svc.cluster.local:2888:3888:participant;0.0.0.0:2181 from 100000001',
  ]);
  t.regex(world.events.join('\n'), /Normal HandingOffLeadership: moving leadership away from example-2 \(server 3/);
  t.regex(
    world.events.join('\n'),
    /Normal ReplacingJoiner: replacing example-2, joining server 3: its template is outdated/,
  );
  t.false(
    world.events.some((e) => e.includes('RestartingLeader')),
    'the leader is never restarted as a voter',
  );
  t.is(world.clusterObject?.status?.phase, 'Running');
  t.deepEqual([...world.removedFromConfig], [], 'every member is a voter again');
});

/** A formed 3-member cluster whose config just changed: the roll's first step restarts example-1 (uid uid-1-…). */
async function rollStarting(): Promise<{ world: World; uid: string }> {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  world.edit({ config: { tickTime: '3000' } });
  const uid = world.pods.find((p) => p.metadata?.name === 'example-1')?.metadata?.uid ?? '';
  return { world, uid };
}

const refusals: {
  name: string;
  answer: EvictionOutcome;
  event: RegExp;
  condition: { type: string; reason: string };
}[] = [
  {
    name: 'the budget allows no disruption (429): the roll waits with the budget’s own words, a Warning',
    answer: { kind: 'budgetRefused', detail: 'The disruption budget example needs 2 healthy pods and has 2 currently' },
    event:
      /^Warning DisruptionBudgetExhausted: restarting example-1 waits: the PodDisruptionBudget example allows no disruption now \(The disruption budget example needs 2 healthy pods and has 2 currently\)\. Another member is down or being evicted, e\.g\. by a node drain; the roll goes on by itself once every member is back and Ready\. If it does not, see `kubectl -n default get pdb example`/,
    condition: { type: 'Progressing', reason: 'DisruptionBudgetExhausted' },
  },
  {
    name: 'the pod is gone already (404): the roll waits for its replacement',
    answer: { kind: 'gone' },
    event:
      /^Normal RestartTargetGone: example-1 was deleted by someone else \(a node drain, or by hand\) before the operator evicted it/,
    condition: { type: 'Progressing', reason: 'RestartTargetGone' },
  },
  {
    name: 'the pod was replaced (409, uid precondition): the roll looks at the new pod next',
    answer: { kind: 'replaced' },
    event: /^Normal RestartTargetReplaced: example-1 was replaced by a new pod before the operator evicted it/,
    condition: { type: 'Progressing', reason: 'RestartTargetReplaced' },
  },
  {
    name: 'two budgets select the members: Degraded, with what to delete',
    answer: { kind: 'multipleBudgets' },
    event:
      /^Warning MultipleDisruptionBudgets: the Eviction API refuses to evict example-1: more than one PodDisruptionBudget selects it.*Delete the other budget.*`kubectl -n default get pdb` lists them; example is the operator's own/,
    condition: { type: 'Degraded', reason: 'MultipleDisruptionBudgets' },
  },
];
for (const c of refusals) {
  test(`a restart is an eviction; refused because ${c.name}; never a deletion`, async (t) => {
    const { world, uid } = await rollStarting();
    world.evictionAnswers.push(c.answer);
    const outcome = await world.reconcile();
    t.deepEqual(world.writes, [
      'apply ConfigMap/example-config',
      'apply StatefulSet/example',
      `evict pod example-1 (uid ${uid})`,
      'status example Restarting',
    ]);
    t.deepEqual(
      world.events.filter((e) => !e.startsWith('Normal Updated')),
      [world.events.find((e) => c.event.test(e)) ?? `no Event matches ${c.event}`],
    );
    t.like(
      world.clusterObject?.status?.conditions?.find((cond) => cond.type === c.condition.type),
      { status: 'True', reason: c.condition.reason },
    );
    t.deepEqual(outcome, { requeueAfterMs: 2_000 }, 'looks again soon');

    // Next time the Eviction API lets it through: the same pod, by the same uid, and the roll goes on.
    world.writes.length = 0;
    world.events.length = 0;
    await world.reconcile();
    t.deepEqual(world.writes, [`evict pod example-1 (uid ${uid})`, 'status example Restarting']);
    t.deepEqual(world.events, [
      'Normal RestartingFollower: restarting example-1 (3 member(s) outdated; the leader example-2 goes last)',
    ]);
    t.is(
      world.clusterObject?.status?.conditions?.find((cond) => cond.type === 'Progressing')?.reason,
      'RestartingFollower',
    );
  });
}

test('a member ZooKeeper counts synced whose pod is not Ready yet holds the roll: the budget would refuse', async (t) => {
  const { world } = await rollStarting();
  const example0 = world.pods.find((p) => p.metadata?.name === 'example-0');
  if (example0) example0.status = { conditions: [{ type: 'Ready', status: 'False' }] };
  await world.reconcile();
  t.deepEqual(world.writes, [
    'apply ConfigMap/example-config',
    'apply StatefulSet/example',
    'status example Restarting',
  ]);
  t.like(
    world.clusterObject?.status?.conditions?.find((c) => c.type === 'Progressing'),
    {
      status: 'True',
      reason: 'WaitingForReadiness',
      message:
        'waiting for the pods of example-0 to report Ready before restarting example-1: the PodDisruptionBudget counts only Ready members',
    },
  );
});

test('a cluster being deleted is left to the garbage collector', async (t) => {
  const world = new World({ ...cluster(), metadata: { ...cluster().metadata, deletionTimestamp: new Date() } });
  t.is(await world.reconcile(), undefined);
  t.deepEqual(world.writes, []);
});

test('a paused cluster keeps the StatefulSet at the pod count it has', async (t) => {
  const world = new World(cluster({ replicas: 3 }));
  await world.reconcile();
  world.edit({ replicas: 5, paused: true });
  await world.reconcile();
  t.is((world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas, 3);
  t.is(world.clusterObject?.status?.phase, 'Paused');
});

test('scaling a formed ensemble up starts with one more pod, and says so', async (t) => {
  const world = new World(cluster({ replicas: 3 }));
  await world.reconcile();
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile();
  world.edit({ replicas: 5 });
  await world.reconcile();
  t.is((world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas, 4, 'one joiner at a time');
  t.is(
    (world.objects.get('ConfigMap/example-config') as V1ConfigMap).data?.['zoo.cfg.dynamic']?.trim().split('\n').length,
    3,
    'new pods start with the committed voters (plus themselves)',
  );
  t.regex(world.events.join('\n'), /^Normal \w+: .*/m);
  t.like(world.clusterObject?.status, { phase: 'Scaling', operation: { kind: 'ScaleUp' } });
});

test('observers asked of a formed ensemble: the observer StatefulSet starts with one pod, the voters’ objects stay', async (t) => {
  const world = new World(cluster({ replicas: 3 }));
  await world.reconcile();
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile();
  const voters = structuredClone(world.objects.get('StatefulSet/example'));
  world.writes.length = 0;
  world.events.length = 0;
  world.edit({ replicas: 3, observers: 2 });
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => w.startsWith('apply')),
    ['apply ConfigMap/example-config', 'apply StatefulSet/example-observer'],
  );
  t.is((world.objects.get('StatefulSet/example-observer') as V1StatefulSet).spec?.replicas, 1);
  t.deepEqual(world.objects.get('StatefulSet/example'), voters);
  t.regex(world.events.join('\n'), /StartingObserver: raising the observer StatefulSet to 1/);
  t.like(world.clusterObject?.status, { phase: 'Scaling', ready: '3/3+0/2', operation: { kind: 'AddObservers' } });
});

test('the bootstrap marker turns off once the ensemble has formed', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  t.is((world.objects.get('ConfigMap/example-config') as V1ConfigMap | undefined)?.data?.bootstrap, 'true');
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  await world.reconcile();
  await world.reconcile();
  t.is((world.objects.get('ConfigMap/example-config') as V1ConfigMap | undefined)?.data?.bootstrap, 'false');
});

test('a cluster deleted before its status is written ends the reconcile quietly; other status failures are retried', async (t) => {
  const gone = new World(cluster());
  gone.failStatusWith = Object.assign(new Error('HTTP-Code: 404'), {
    code: 404,
    body: JSON.stringify({
      kind: 'Status',
      reason: 'NotFound',
      code: 404,
      message: 'zookeeperclusters "example" not found',
    }),
  });
  t.is(await gone.reconcile(), undefined, 'no requeue: the cluster is gone');
  const failing = new World(cluster());
  failing.failStatusWith = Object.assign(new Error('HTTP-Code: 500'), { code: 500, body: '{}' });
  await t.throwsAsync(failing.reconcile());
});

const bootstrapFlag = (world: World) =>
  (world.objects.get('ConfigMap/example-config') as V1ConfigMap | undefined)?.data?.bootstrap;

test('claims of synced members are marked once with the config version; a settled cluster writes nothing more', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  world.addReadyPods(3, renderCluster({ cluster: cluster(), bootstrap: true }).revision);
  world.addClaims('10Gi');
  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => w.startsWith('mark')),
    [0, 1, 2].map((o) => `mark claim data-example-${o} ${FORMED_ANNOTATION}=100000000`),
  );
  world.writes.length = 0;
  await world.reconcile();
  await world.reconcile();
  t.false(world.writes.some((w) => w.startsWith('mark')));
});

/** The same cluster deleted and created again: its status is empty, the retained claims remain. */
function recreate(world: World, createdAt: Date): void {
  world.clusterObject = { ...cluster(), metadata: { ...cluster().metadata, creationTimestamp: createdAt } };
  world.objects.clear();
  world.pods.length = 0;
  world.writes.length = 0;
  world.events.length = 0;
}

test('re-created over retained claims, two of them deleted by hand: the survivor’s mark keeps members from bootstrapping', async (t) => {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  recreate(world, new Date('2026-11-25T11:30:00Z'));
  world.claimObjects.splice(0, 2);
  world.quorum = false;
  await world.reconcile();
  t.is(bootstrapFlag(world), 'false', 'members on the new, empty claims must sync from server 3 before they vote');
  t.is((world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas, 3);
});

test('a retained claim older than the re-created resource counts as data even without a mark', async (t) => {
  const world = new World(cluster());
  world.claimObjects.push({
    metadata: { name: 'data-example-0', creationTimestamp: new Date('2026-11-20T00:00:00Z') },
    spec: { resources: { requests: { storage: '10Gi' } } },
  });
  recreate(world, new Date('2026-11-25T11:30:00Z'));
  await world.reconcile();
  t.is(bootstrapFlag(world), 'false');
});

test('a status that says Available is not evidence: a new cluster with no data bootstraps', async (t) => {
  const world = new World(
    cluster(
      {},
      {
        configVersion: '100000000',
        conditions: [
          {
            type: 'Available',
            status: 'True',
            reason: 'Quorum',
            message: '',
            lastTransitionTime: '2026-11-20T00:00:00Z',
          },
        ],
      },
    ),
  );
  world.quorum = false;
  await world.reconcile();
  t.is(bootstrapFlag(world), 'true');
});

test('ephemeral storage: pods of synced members are marked; a lone member that lost its pod bootstraps again', async (t) => {
  const spec = { replicas: 1, storage: { ephemeral: true } };
  const world = new World(cluster(spec));
  await world.reconcile();
  world.addReadyPods(1, renderCluster({ cluster: cluster(spec), bootstrap: true }).revision);
  await world.reconcile();
  t.true(
    world.writes.includes(
      `annotate pod example-0 (uid ${world.pods[0]?.metadata?.uid}) ${FORMED_ANNOTATION}=100000000`,
    ),
  );
  t.is(bootstrapFlag(world), 'false', 'while its pod lives, its emptyDir holds the data');
  // The pod is deleted: its emptyDir and the ensemble's data go with it.
  world.pods.length = 0;
  world.quorum = false;
  await world.reconcile();
  t.is(bootstrapFlag(world), 'true', 'nothing holds data any more, so the new pod may start empty and vote');
});

const claimTemplateSize = (world: World) =>
  (world.objects.get('StatefulSet/example') as V1StatefulSet | undefined)?.spec?.volumeClaimTemplates?.[0]?.spec
    ?.resources?.requests?.storage;

test('a grown storage size: claims grow, then the StatefulSet is recreated keeping its pods; no member restarts', async (t) => {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  world.edit({ storage: { size: '20Gi' } });
  await world.reconcile();
  t.deepEqual(world.writes.slice(0, 3), [
    'resize claim data-example-0 to 20Gi',
    'resize claim data-example-1 to 20Gi',
    'resize claim data-example-2 to 20Gi',
  ]);
  t.is(claimTemplateSize(world), '10Gi', 'the live claim template is never patched (it is immutable)');
  t.regex(world.events.join('\n'), /Normal ResizingVolumes: growing the volumes of data-example-0, /);
  t.like(
    world.clusterObject?.status?.conditions?.find((c) => c.type === 'Progressing'),
    {
      status: 'True',
      reason: 'ResizingVolumes',
    },
  );

  // The API server stored the new requests; the driver has not grown the volumes yet.
  for (const claim of world.claimObjects) claim.spec = { resources: { requests: { storage: '20Gi' } } };
  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => !w.startsWith('status')),
    ['delete StatefulSet/example (uid StatefulSet-uid) keeping its pods'],
  );
  t.regex(world.events.join('\n'), /Normal RecreatingStatefulSet: every member claim asks for 20Gi/);

  // The garbage collector orphaned the pods and removed the StatefulSet: it comes back, new size.
  world.objects.delete('StatefulSet/example');
  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => !w.startsWith('status')),
    ['apply StatefulSet/example'],
  );
  t.is(claimTemplateSize(world), '20Gi');
  t.is((world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas, 3);
  await world.reconcile(); // the informer now has the new StatefulSet
  t.like(
    world.clusterObject?.status?.conditions?.find((c) => c.type === 'Progressing'),
    {
      status: 'True',
      reason: 'ResizingVolumes',
      message:
        'waiting for the storage driver to grow data-example-0 (10Gi), data-example-1 (10Gi), data-example-2 (10Gi) to 20Gi',
    },
  );

  for (const claim of world.claimObjects) claim.status = { phase: 'Bound', capacity: { storage: '20Gi' } };
  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(world.writes, ['status example Running']);
  t.is(world.clusterObject?.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'Reconciled');
  t.false(
    world.events.some((e) => e.includes('Restarting')),
    'no member was restarted',
  );
});

test('a claim that may not grow is reported with what to fix; the StatefulSet keeps its template', async (t) => {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  world.edit({ storage: { size: '20Gi' } });
  const refusal = forbidden(
    'persistentvolumeclaims "data-example-0" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
  );
  world.failResizeWith = refusal;
  world.events.length = 0;
  // The work queue backs off on the API server's own answer.
  await t.throwsAsync(world.reconcile(), { is: refusal });
  const degraded = world.clusterObject?.status?.conditions?.find((c) => c.type === 'Degraded');
  t.is(degraded?.reason, 'VolumeResizeRefused');
  t.regex(degraded?.message ?? '', /must support resize\. The claim's StorageClass must allow volume expansion/);
  t.regex(world.events.join('\n'), /Warning VolumeResizeRefused: cluster default\/example: growing claim/);
  t.is(claimTemplateSize(world), '10Gi');
});

test('volumes wait while a roll is under way: one change to members at a time', async (t) => {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  world.clusterObject = {
    ...cluster({ storage: { size: '20Gi' }, config: { tickTime: '3000' } }),
    status: world.clusterObject?.status ?? {},
  };
  world.writes.length = 0;
  await world.reconcile();
  t.true(world.writes.some((w) => w.startsWith('evict pod')));
  t.false(world.writes.some((w) => w.startsWith('resize claim')));
});

test('a smaller storage size (past the CRD) is refused: the volumes and the template stay', async (t) => {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  world.edit({ storage: { size: '5Gi' } });
  await world.reconcile();
  t.false(world.writes.some((w) => w.startsWith('resize') || w.startsWith('delete') || w.startsWith('apply')));
  t.is(claimTemplateSize(world), '10Gi');
  t.like(
    world.clusterObject?.status?.conditions?.find((c) => c.type === 'Degraded'),
    {
      status: 'True',
      reason: 'StorageShrinkRefused',
    },
  );
  t.regex(world.events.join('\n'), /Warning StorageShrinkRefused: .*volumes cannot shrink/);
});

test('a StatefulSet deleted under a formed ensemble comes back with the members it has, not spec.replicas', async (t) => {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  world.edit({ replicas: 5 });
  world.objects.delete('StatefulSet/example');
  await world.reconcile();
  t.is((world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas, 3, 'no two joiners at once');
  t.is(
    (world.objects.get('ConfigMap/example-config') as V1ConfigMap).data?.['zoo.cfg.dynamic']?.trim().split('\n').length,
    3,
  );
  await world.reconcile();
  t.is((world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas, 4, 'then one joiner');
});

test('a StatefulSet still being deleted is neither applied nor deleted again', async (t) => {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  world.edit({ storage: { size: '20Gi' } });
  for (const claim of world.claimObjects) claim.spec = { resources: { requests: { storage: '20Gi' } } };
  const statefulSet = world.objects.get('StatefulSet/example') as V1StatefulSet;
  statefulSet.metadata = { ...statefulSet.metadata, deletionTimestamp: new Date() };
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => !w.startsWith('status')),
    [],
  );
});

const statefulSetReplicas = (world: World) =>
  (world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas;
const dynamicServerIds = (world: World) =>
  [
    ...((world.objects.get('ConfigMap/example-config') as V1ConfigMap).data?.['zoo.cfg.dynamic'] ?? '').matchAll(
      /^server\.(\d+)=/gm,
    ),
  ].map((match) => Number(match[1]));

/** Someone runs `kubectl scale sts example --replicas=<to>`; the StatefulSet controller follows. */
function scaleStatefulSetByHand(world: World, to: number, { podsGone }: { podsGone: boolean }) {
  const statefulSet = world.objects.get('StatefulSet/example') as V1StatefulSet;
  world.objects.set('StatefulSet/example', {
    ...statefulSet,
    spec: { ...statefulSet.spec, replicas: to },
  } as V1StatefulSet);
  if (podsGone) world.pods.splice(to);
  world.writes.length = 0;
  world.events.length = 0;
}

for (const { to, podsGone, quorum } of [
  { to: 1, podsGone: false, quorum: true },
  { to: 1, podsGone: true, quorum: false },
  { to: 0, podsGone: true, quorum: false },
]) {
  test(`a StatefulSet scaled by hand to ${to} (${podsGone ? 'pods gone, no quorum' : 'pods still there'}) is restored to the committed voters, with a Warning`, async (t) => {
    const world = new World(cluster());
    await world.formed(3, '10Gi');
    scaleStatefulSetByHand(world, to, { podsGone });
    world.quorum = quorum;
    await world.reconcile();
    t.is(statefulSetReplicas(world), 3);
    t.deepEqual(dynamicServerIds(world), [1, 2, 3], 'never fewer members than the committed voters');
    t.true(world.writes.includes('apply StatefulSet/example'));
    t.false(
      world.writes.some((write) => write.startsWith('delete claim') || write.startsWith('mark claim')),
      'the claims of the members whose pods went stay untouched',
    );
    t.true(
      world.events.includes(
        `Warning StatefulSetReplicasRestored: the StatefulSet was set to ${to} replicas outside the operator, fewer than the committed voters; restored to 3. Change the member count with \`kubectl scale zk/example\``,
      ),
      world.events.join('\n'),
    );
  });
}

test('a legitimate scale-down lowers the StatefulSet only after the member left the config', async (t) => {
  const world = new World(cluster({ replicas: 3 }));
  await world.formed(3, '10Gi');
  world.edit({ replicas: 2 });
  await world.reconcile();
  t.is(statefulSetReplicas(world), 3, 'server 3 is still a committed voter');
  t.true(world.writes.includes('reconfig remove 3 from 100000000'));
  t.false(world.events.some((event) => event.includes('StatefulSetReplicasRestored')));
});

test('a refused reconfig is reported as ReconfigFailed, naming the step; the retry backs off on ZooKeeper’s answer', async (t) => {
  const world = new World(cluster({ replicas: 3 }));
  await world.formed(3, '10Gi');
  world.edit({ replicas: 2 });
  const refusal = new Error('NewConfigNoQuorum: No quorum of new config is connected and up-to-date with the leader');
  world.failReconfigWith = refusal;
  world.events.length = 0;
  await t.throwsAsync(world.reconcile(), { is: refusal });
  const degraded = world.clusterObject?.status?.conditions?.find((c) => c.type === 'Degraded');
  t.is(degraded?.reason, 'ReconfigFailed');
  t.is(
    degraded?.message,
    'removing server 3 from config 100000000 failed: NewConfigNoQuorum: No quorum of new config is connected and up-to-date with the leader',
  );
  t.true(world.events.includes(`Warning ReconfigFailed: ${degraded?.message}`), world.events.join('\n'));
  t.is(statefulSetReplicas(world), 3, 'nothing else was changed for the step');
});

test('networkPolicy.enabled turned false deletes the cluster’s NetworkPolicy by uid, with an Event, once', async (t) => {
  const world = new World(cluster());
  await world.reconcile();
  world.edit({ networkPolicy: { enabled: false } });
  await world.reconcile();
  t.deepEqual(
    world.writes.filter((w) => !w.startsWith('status')),
    ['delete NetworkPolicy/example (uid NetworkPolicy-uid)'],
  );
  t.deepEqual(world.events, ['Normal Deleted: Deleted NetworkPolicy example: spec.networkPolicy.enabled is false']);
  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(world.writes, [], 'nothing left to delete');
});

test('a NetworkPolicy of that name the cluster does not own is left alone when the spec turns it off', async (t) => {
  const world = new World(cluster({ networkPolicy: { enabled: false } }));
  world.objects.set('NetworkPolicy/example', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'example', namespace: 'default', uid: 'someone-elses' },
  });
  await world.reconcile();
  t.false(world.writes.some((w) => w.includes('NetworkPolicy')));
});

test('the NetworkPolicy admits the operator’s own pods, as the reconciler was told they are labelled', async (t) => {
  const world = new World(cluster());
  const operatorPod = { namespace: 'zk-system', labels: { 'app.kubernetes.io/name': 'zookeeper-operator' } };
  await world.reconcile({ operatorPod });
  const policy = world.objects.get('NetworkPolicy/example') as { spec?: { ingress?: { from?: unknown[] }[] } };
  t.deepEqual(policy.spec?.ingress?.[2]?.from, [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'zk-system' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'zookeeper-operator' } },
    },
  ]);
});

const planted: { name: string; ownerReferences: V1OwnerReference[]; whose: RegExp }[] = [
  {
    name: 'without an owner reference',
    ownerReferences: [],
    whose: /has no owner reference to this cluster \(uid 00000000-0000-4000-8000-000000000001\)/,
  },
  {
    name: 'of an earlier cluster of that name',
    ownerReferences: [
      { apiVersion: 'zookeeper.ensembles.dev/v1alpha1', kind: 'ZooKeeperCluster', name: 'example', uid: 'old' },
    ],
    whose: /belongs to an earlier ZooKeeperCluster named example \(uid old\); the garbage collector deletes it/,
  },
];
for (const c of planted) {
  test(`a super-user Secret ${c.name}: not used, nothing applied or restarted; a condition and a Warning say what to do`, async (t) => {
    const world = new World(cluster());
    await world.reconcile();
    world.addReadyPods(3, 'an-old-revision');
    world.edit({});
    world.foreignSecret = c.ownerReferences;
    const outcome = await world.reconcile();
    t.deepEqual(world.writes, ['status example Degraded'], 'no apply, no pod deleted though all are outdated');
    t.is(world.events.length, 1);
    t.regex(
      world.events[0] ?? '',
      /^Warning SuperUserSecretNotOwned: Secret default\/example-super-user already exists and /,
    );
    t.regex(world.events[0] ?? '', c.whose);
    t.regex(world.events[0] ?? '', /Delete it \(`kubectl -n default delete secret example-super-user`\)/);
    const conditions = world.clusterObject?.status?.conditions ?? [];
    const degraded = conditions.find((condition) => condition.type === 'Degraded');
    t.is(degraded?.status, 'True');
    t.is(degraded?.reason, 'SuperUserSecretNotOwned');
    t.is(degraded?.message, (world.events[0] ?? '').replace(/^Warning SuperUserSecretNotOwned: /, ''));
    t.like(
      conditions.find((condition) => condition.type === 'Progressing'),
      { status: 'False', reason: 'SuperUserSecretNotOwned' },
    );
    t.deepEqual(outcome, { requeueAfterMs: 2_000 }, 'looks again soon: the Secret may be deleted any time');
  });
}

/**
 * Steps that change the ensemble, each from a formed 3-member cluster; `taken` says whether the
 * step was taken. Readings may be reused from a moment ago (`ensemble-reader.ts`), so each such
 * step is planned again on readings taken now.
 */
const ensembleChanges: { name: string; change: ZooKeeperClusterSpec; taken: (world: World) => boolean }[] = [
  {
    name: 'a restart',
    change: { config: { tickTime: '3000' } },
    taken: (world) => world.writes.some((w) => /^(evict|delete) pod /.test(w)),
  },
  {
    name: 'a pod count raised for a joiner',
    change: { replicas: 5 },
    taken: (world) => (world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.replicas === 4,
  },
];

for (const c of ensembleChanges) {
  test(`${c.name} is decided on readings taken now, never only on reused ones`, async (t) => {
    const world = new World(cluster());
    await world.formed(3, '10Gi');
    world.edit(c.change);
    world.reads.length = 0;
    await world.reconcile();
    t.true(c.taken(world));
    t.deepEqual(world.reads, ['mayReuse', 'fresh']);
  });

  test(`${c.name} is not taken when readings taken now contradict the reused ones`, async (t) => {
    const world = new World(cluster());
    await world.formed(3, '10Gi');
    world.edit(c.change);
    // A moment ago every member served in sync; now none has a quorum.
    world.reusedReadings = world.healthyReadings();
    world.quorum = false;
    await world.reconcile();
    t.false(c.taken(world), world.writes.join('\n'));
    t.like(world.clusterObject?.status, { phase: 'Unavailable' }, 'the status reports what was read now');
  });
}

test('a settled cluster reads its members once per reconcile, and may reuse readings', async (t) => {
  const world = new World(cluster());
  await world.formed(3, '10Gi');
  world.reads.length = 0;
  await world.reconcile();
  t.deepEqual(world.reads, ['mayReuse']);
});

const withUsers: ZooKeeperClusterSpec = { authentication: { digestUsers: { secretName: 'zk-users' } } };
const usersSecret = (data: Record<string, string>): V1Secret => ({
  metadata: { name: 'zk-users', namespace: 'default' },
  data: Object.fromEntries(
    Object.entries(data).map(([user, password]) => [user, Buffer.from(password).toString('base64')]),
  ),
});
const appliedTemplate = (world: World) => (world.objects.get('StatefulSet/example') as V1StatefulSet).spec?.template;

test('a SASL users’ Secret that does not exist: nothing is applied, a Warning Event and Degraded name it; once created, the cluster is', async (t) => {
  const world = new World(cluster(withUsers));
  await world.reconcile();
  t.deepEqual(world.writes, ['create Secret/example-super-user', 'status example Creating']);
  t.is(world.events.length, 1);
  t.regex(
    world.events[0] ?? '',
    /^Warning DigestUsersSecretMissing: Secret default\/zk-users, which spec\.authentication\.digestUsers names, does not exist/,
  );
  t.is(world.clusterObject?.status?.conditions?.find((c) => c.type === 'Degraded')?.reason, 'DigestUsersSecretMissing');
  world.userSecrets.set('zk-users', usersSecret({ app: 'app-password' }));
  await world.reconcile();
  t.true(world.writes.includes('apply StatefulSet/example'));
  t.regex(appliedTemplate(world)?.metadata?.annotations?.[DIGEST_USERS_ANNOTATION] ?? '', /^[0-9a-f]{32}$/);
});

test('a change of SASL users restarts the members one at a time; the pod template carries a keyed fingerprint, never a password', async (t) => {
  const world = new World(cluster(withUsers));
  world.userSecrets.set('zk-users', usersSecret({ app: 'app-password' }));
  await world.reconcile();
  world.addReadyPods(3, appliedTemplate(world)?.metadata?.annotations?.[REVISION_ANNOTATION] ?? '');
  await world.reconcile();
  await world.reconcile();
  world.writes.length = 0;
  await world.reconcile();
  t.deepEqual(world.writes, [], 'settled: the same users change nothing');
  const before = appliedTemplate(world)?.metadata?.annotations?.[DIGEST_USERS_ANNOTATION];
  world.userSecrets.set('zk-users', usersSecret({ app: 'app-password', batch: 'batch-password' }));
  await world.reconcile();
  const after = appliedTemplate(world)?.metadata?.annotations?.[DIGEST_USERS_ANNOTATION];
  t.not(after, before);
  t.deepEqual(
    world.writes.filter((w) => w.startsWith('apply')),
    ['apply StatefulSet/example'],
    'only the template changes: no file does',
  );
  t.regex(world.writes.find((w) => w.startsWith('evict')) ?? '', /^evict pod example-1 /, 'a follower first');
  t.is(world.writes.filter((w) => w.startsWith('evict')).length, 1, 'one member at a time');
  t.false(JSON.stringify(appliedTemplate(world)).includes('password'), 'no password in the template');
});

const refusedUsers: { name: string; data: Record<string, string>; reason: string; message: RegExp }[] = [
  {
    name: 'a user named super',
    data: { app: 'a', super: 'b' },
    reason: 'DigestUserReserved',
    message: /holds a SASL user 'super': the super user is the operator's alone/,
  },
  {
    name: 'an empty password',
    data: { app: '' },
    reason: 'DigestUserInvalid',
    message: /'app': its password is empty/,
  },
  {
    name: 'a password JAAS would expand',
    data: { app: `x\${y}` },
    reason: 'DigestUserInvalid',
    message: /'app': its password contains '\$\{'/,
  },
];
for (const c of refusedUsers) {
  test(`SASL users with ${c.name}: no member is restarted, and the Event names the user, never a password`, async (t) => {
    const world = new World(cluster(withUsers));
    world.userSecrets.set('zk-users', usersSecret({ app: 'app-password' }));
    await world.reconcile();
    world.addReadyPods(3, appliedTemplate(world)?.metadata?.annotations?.[REVISION_ANNOTATION] ?? '');
    await world.reconcile();
    world.userSecrets.set('zk-users', usersSecret(c.data));
    world.writes.length = 0;
    world.events.length = 0;
    await world.reconcile();
    t.false(
      world.writes.some((w) => w.startsWith('apply') || w.startsWith('evict')),
      world.writes.join(', '),
    );
    t.regex(world.events.join('\n'), c.message);
    t.is(world.clusterObject?.status?.conditions?.find((cond) => cond.type === 'Degraded')?.reason, c.reason);
    t.false(world.events.join('\n').includes('app-password'));
  });
}
