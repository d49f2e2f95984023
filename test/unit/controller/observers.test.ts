/**
 * Observers: the planner that adds and removes them (one at a time, after the voters), the roll
 * that restarts them first, and what the status says about them. Readings are shaped like
 * ZooKeeper's (an observer reports Mode observer and `observing - broadcast`; the leader counts
 * it in `synced_observers`, never in `quorum_size` or `synced_followers`).
 */
import type { V1StatefulSet, V1StatefulSetSpec } from '@kubernetes/client-node';
import test from 'ava';
import fc from 'fast-check';
import { REVISION_ANNOTATION } from '../../../src/api/constants.js';
import { resolveSpec } from '../../../src/api/defaults.js';
import { decide } from '../../../src/controller/decide.js';
import { nextObserverStep, type ObserverInput } from '../../../src/controller/observer-scaling.js';
import { type MemberPod, nextRollStep } from '../../../src/controller/rolling-restart.js';
import type { ScalingPod, ScalingStep } from '../../../src/controller/scaling.js';
import { type ClusterSnapshot, OBJECT_FIELDS } from '../../../src/controller/snapshot.js';
import { computeStatus } from '../../../src/controller/status.js';
import { renderCluster } from '../../../src/render/cluster.js';
import { observerIdsUpTo, podOfServerId, serverIdOfPod } from '../../../src/render/names.js';
import { serverLine } from '../../../src/render/zoo-cfg.js';
import { assessEnsemble, type MemberReading } from '../../../src/zookeeper/health.js';
import { aCluster, aServingVoter } from '../../support/builders.js';

const cluster = { name: 'example', namespace: 'default' };
const spec = resolveSpec({});
const now = new Date('2026-12-02T08:00:00Z');

interface World {
  voters: number;
  leader: number;
  /** Observer server ids in the committed config. */
  committed: number[];
  /** Observer StatefulSet replicas. */
  podCount: number;
  /** Observer ids whose pods exist (defaults to every id below the pod count). */
  pods?: number[];
  /** Observer ids still syncing (observing - synchronization). */
  syncing?: number[];
  /** Observer ids that do not answer. */
  down?: number[];
  terminating?: number[];
  /** Observers the leader does not count as synced yet (its view lags the observer's own). */
  unseenByLeader?: number;
  paused?: boolean;
  noLeader?: boolean;
}

const version = '100000000';

function readingsOf(w: World): MemberReading[] {
  const voterIds = Array.from({ length: w.voters }, (_, i) => i + 1);
  const podIds = w.pods ?? observerIdsUpTo(w.podCount);
  const members = [
    ...voterIds.map((myid) => ({ myid, host: podOfServerId(cluster, myid), role: 'participant' as const })),
    ...w.committed.map((myid) => ({ myid, host: podOfServerId(cluster, myid), role: 'observer' as const })),
  ];
  const conf = (serverId: number) => ({ serverId, members, configVersion: version });
  const observerServes = (id: number) => !(w.down ?? []).includes(id);
  const syncedObservers =
    podIds.filter((id) => w.committed.includes(id) && observerServes(id) && !(w.syncing ?? []).includes(id)).length -
    (w.unseenByLeader ?? 0);
  const syncedJoiners = podIds.filter(
    (id) => !w.committed.includes(id) && observerServes(id) && !(w.syncing ?? []).includes(id),
  ).length;
  const voters: MemberReading[] = voterIds.map((myid) => {
    const pod = podOfServerId(cluster, myid);
    if (w.noLeader) return { pod, myid };
    return aServingVoter({
      pod,
      myid,
      conf: conf(myid),
      ...(myid === w.leader
        ? {
            leads: {
              quorumSize: w.voters,
              syncedFollowers: w.voters - 1 + syncedJoiners,
              syncedNonVotingFollowers: syncedJoiners,
              syncedObservers,
            },
          }
        : {}),
    });
  });
  const observers: MemberReading[] = podIds.map((myid) => {
    const pod = podOfServerId(cluster, myid);
    if (!observerServes(myid) || w.noLeader) return { pod, myid, unreachable: 'connection refused' };
    const phase = (w.syncing ?? []).includes(myid) ? 'synchronization' : 'broadcast';
    // Outside the config it learned from the leader, ZooKeeper runs it as a non-voting follower.
    const mode = w.committed.includes(myid) ? 'observer' : 'follower';
    return {
      pod,
      myid,
      srvr: { version: '3.9.4', mode, zxid: '0x100000005', epoch: 1 },
      mntr: { serverState: mode, peerState: `${mode === 'observer' ? 'observing' : 'following'} - ${phase}` },
      conf: conf(myid),
    };
  });
  return [...voters, ...observers];
}

function scalingPods(w: World): ScalingPod[] {
  return (w.pods ?? observerIdsUpTo(w.podCount)).map((myid) => ({
    name: podOfServerId(cluster, myid),
    myid,
    terminating: (w.terminating ?? []).includes(myid),
    createdAt: now,
    revision: 'r1',
    stuck: false,
    ready: !(w.down ?? []).includes(myid),
  }));
}

function inputOf(w: World, desiredObservers: number): ObserverInput {
  return {
    cluster,
    spec,
    clientOnLoopback: false,
    desiredObservers,
    podCount: w.podCount,
    pods: scalingPods(w),
    health: assessEnsemble(readingsOf(w)),
    paused: w.paused ?? false,
    stepTimeoutMs: 600_000,
    desiredRevision: 'r1',
    now,
  };
}

const describe = (step: ScalingStep): string => {
  switch (step.kind) {
    case 'wait':
      return `wait ${step.reason.code}`;
    case 'raiseObserverCount':
    case 'lowerObserverCount':
    case 'raisePodCount':
    case 'lowerPodCount':
      return `${step.kind} ${step.to}`;
    case 'addMember':
    case 'removeMember':
      return `${step.kind} ${step.myid}`;
    case 'replaceJoiner':
      return `replaceJoiner ${step.pod}`;
    case 'deleteClaim':
    case 'markClaim':
      return `${step.kind} ${step.claim}`;
    case 'commitWrite':
    case 'done':
      return step.kind;
    default: {
      const unexpected: never = step;
      return String(unexpected);
    }
  }
};

const cases: { name: string; world: World; desired: number; expect: string }[] = [
  {
    name: 'no observers asked, none there',
    world: { voters: 3, leader: 3, committed: [], podCount: 0 },
    desired: 0,
    expect: 'done',
  },
  {
    name: '0 -> 2 starts the first observer pod',
    world: { voters: 3, leader: 3, committed: [], podCount: 0 },
    desired: 2,
    expect: 'raiseObserverCount 1',
  },
  {
    name: 'an observer still syncing is waited for',
    world: { voters: 3, leader: 3, committed: [], podCount: 1, syncing: [101] },
    desired: 2,
    expect: 'wait WaitingForObserver',
  },
  {
    name: 'a synced observer is added by reconfig as an observer',
    world: { voters: 3, leader: 3, committed: [], podCount: 1 },
    desired: 2,
    expect: 'addMember 101',
  },
  {
    name: 'the second observer pod starts only once the first is committed',
    world: { voters: 3, leader: 3, committed: [101], podCount: 1 },
    desired: 2,
    expect: 'raiseObserverCount 2',
  },
  {
    name: 'the next observer waits until the last one added is back in sync as an observer',
    world: { voters: 3, leader: 3, committed: [101], podCount: 1, syncing: [101] },
    desired: 2,
    expect: 'wait WaitingForSync',
  },
  {
    name: 'two committed observers: done',
    world: { voters: 3, leader: 3, committed: [101, 102], podCount: 2 },
    desired: 2,
    expect: 'done',
  },
  {
    name: '2 -> 0 removes the highest observer by reconfig first',
    world: { voters: 3, leader: 3, committed: [101, 102], podCount: 2 },
    desired: 0,
    expect: 'removeMember 102',
  },
  {
    name: 'a removed observer pod goes next, without an activating write',
    world: { voters: 3, leader: 3, committed: [101], podCount: 2 },
    desired: 0,
    expect: 'lowerObserverCount 1',
  },
  {
    name: 'a leaving observer pod is waited for',
    world: { voters: 3, leader: 3, committed: [101], podCount: 1, pods: [101, 102], terminating: [102] },
    desired: 0,
    expect: 'wait MemberTerminating',
  },
  {
    name: 'the last observer is removed, then its pod',
    world: { voters: 3, leader: 3, committed: [101], podCount: 1 },
    desired: 0,
    expect: 'removeMember 101',
  },
  {
    name: 'paused: no observer change',
    world: { voters: 3, leader: 3, committed: [], podCount: 0, paused: true },
    desired: 2,
    expect: 'wait Paused',
  },
  {
    name: 'no quorum: no observer change',
    world: { voters: 3, leader: 3, committed: [101], podCount: 1, noLeader: true },
    desired: 0,
    expect: 'wait NoQuorum',
  },
  {
    name: 'a missing committed observer pod is waited for, not replaced by another',
    world: { voters: 3, leader: 3, committed: [101, 102], podCount: 2, pods: [101] },
    desired: 3,
    expect: 'wait MemberMissing',
  },
];

for (const c of cases) {
  test(`observer planner: ${c.name}`, (t) => {
    t.is(describe(nextObserverStep(inputOf(c.world, c.desired))), c.expect);
  });
}

test('observer planner: an observer is added with an observer line and its own host', (t) => {
  const step = nextObserverStep(inputOf({ voters: 3, leader: 3, committed: [], podCount: 1 }, 1));
  t.is(step.kind, 'addMember');
  if (step.kind !== 'addMember') return;
  t.is(
    step.serverLine,
    'server.101=example-observer-0.example-headless.default.svc.cluster.local:2888:3888:observer;0.0.0.0:2181',
  );
  t.is(step.serverLine, serverLine(cluster, 101, spec));
  t.regex(step.reason.message, /the quorum does not change/);
});

test('server ids: voters and observers map to their own pods and back, and never meet', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 31 }), (ordinal) => {
      const voter = ordinal + 1;
      const observer = observerIdsUpTo(ordinal + 1)[ordinal] ?? 0;
      t.is(podOfServerId(cluster, voter), `example-${ordinal}`);
      t.is(podOfServerId(cluster, observer), `example-observer-${ordinal}`);
      t.is(serverIdOfPod('example', podOfServerId(cluster, voter)), voter);
      t.is(serverIdOfPod('example', podOfServerId(cluster, observer)), observer);
      t.true(observer > 100 && observer <= 254);
    }),
  );
  t.is(serverIdOfPod('example', 'other-0'), undefined);
  t.is(serverIdOfPod('example', 'example-observer-x'), undefined);
});

/**
 * A simulated world: the planner's step applied as ZooKeeper and the StatefulSet would, then
 * time passes (pods start and sync). From any start and any target, it reaches the target, the
 * quorum's size never moves, and each step changes the committed membership by at most one.
 */
function apply(w: World, step: ScalingStep): World {
  switch (step.kind) {
    case 'raiseObserverCount':
    case 'lowerObserverCount':
      return { ...w, podCount: step.to, pods: observerIdsUpTo(step.to) };
    case 'addMember':
      return { ...w, committed: [...w.committed, step.myid].sort((a, b) => a - b) };
    case 'removeMember':
      return { ...w, committed: w.committed.filter((id) => id !== step.myid) };
    default:
      return w;
  }
}

test('observer planner: from any observer count to any other, one membership change per step, the quorum never changes', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), (from, to) => {
      let w: World = { voters: 3, leader: 2, committed: observerIdsUpTo(from), podCount: from };
      for (let i = 0; i < 40; i++) {
        const input = inputOf(w, to);
        t.is(input.health.quorumSize, 3);
        t.deepEqual(input.health.committedVoters, [1, 2, 3]);
        const step = nextObserverStep(input);
        if (step.kind === 'done') {
          t.deepEqual(w.committed, observerIdsUpTo(to));
          t.is(w.podCount, to);
          return;
        }
        t.not(step.kind, 'wait', describe(step));
        const next = apply(w, step);
        const changed =
          next.committed.filter((id) => !w.committed.includes(id)).length +
          w.committed.filter((id) => !next.committed.includes(id)).length;
        t.true(changed <= 1);
        // Never an observer's pod gone while it is still committed.
        t.true(next.committed.every((id) => id - 100 <= next.podCount));
        w = next;
      }
      t.fail(`no convergence from ${from} to ${to}`);
    }),
    { numRuns: 60 },
  );
});

// The roll: observers first (their ids are above every voter's), the leader last.

function rollOf(w: World, outdated: number[]) {
  const voterIds = Array.from({ length: w.voters }, (_, i) => i + 1);
  const ids = [...voterIds, ...(w.pods ?? observerIdsUpTo(w.podCount))];
  const pods: MemberPod[] = ids.map((myid) => ({
    name: podOfServerId(cluster, myid),
    myid,
    revision: outdated.includes(myid) ? 'r0' : 'r1',
    terminating: false,
    stuck: false,
    restartedInPlace: false,
    ready: !(w.down ?? []).includes(myid),
    createdAt: now,
  }));
  return nextRollStep({
    desiredRevision: 'r1',
    expectedMyids: ids,
    pods,
    health: assessEnsemble(readingsOf(w)),
    paused: false,
    stepTimeoutMs: 600_000,
    now,
  });
}

test('roll: every member outdated, observers are restarted before any voter', (t) => {
  const w: World = { voters: 3, leader: 3, committed: [101, 102], podCount: 2 };
  const step = rollOf(w, [1, 2, 3, 101, 102]);
  t.like(step, { kind: 'restart', pod: 'example-observer-1', reason: { code: 'RestartingObserver' } });
});

test('roll: after the observers, followers, and the leader last', (t) => {
  const w: World = { voters: 3, leader: 3, committed: [101, 102], podCount: 2 };
  t.like(rollOf(w, [1, 2, 3]), { kind: 'restart', pod: 'example-1' });
  t.like(rollOf(w, [3]), { kind: 'restart', pod: 'example-2', reason: { code: 'RestartingLeader' } });
});

test('roll: an observer is restarted even where no voter could be (one voter: no spare)', (t) => {
  const w: World = { voters: 1, leader: 1, committed: [101], podCount: 1 };
  t.like(rollOf(w, [1, 101]), { kind: 'restart', pod: 'example-observer-0', reason: { code: 'RestartingObserver' } });
});

test('roll: waits while the leader does not count every observer synced, though each says it is', (t) => {
  const w: World = { voters: 3, leader: 3, committed: [101, 102], podCount: 2, unseenByLeader: 1 };
  t.like(rollOf(w, [1, 2, 3, 101]), { kind: 'wait', reason: { code: 'WaitingForObserverSync' } });
});

test('roll: waits while an observer is still syncing', (t) => {
  const w: World = { voters: 3, leader: 3, committed: [101, 102], podCount: 2, syncing: [102] };
  t.like(rollOf(w, [101]), { kind: 'wait', reason: { code: 'WaitingForSync' } });
});

test('roll: an observer down and outdated is restarted first; the quorum is not touched', (t) => {
  const w: World = { voters: 3, leader: 3, committed: [101], podCount: 1, down: [101] };
  t.like(rollOf(w, [1, 2, 3, 101]), { kind: 'restart', pod: 'example-observer-0' });
});

// Status: the voters are the replicas; observers are counted apart.

function podsOf(w: World) {
  const voterIds = Array.from({ length: w.voters }, (_, i) => i + 1);
  return [...voterIds, ...(w.pods ?? observerIdsUpTo(w.podCount))].map((myid) => ({
    metadata: { name: podOfServerId(cluster, myid), annotations: {} },
    status: { conditions: [{ type: 'Ready', status: (w.down ?? []).includes(myid) ? 'False' : 'True' }] },
  }));
}

const statusOf = (w: World, spec: Parameters<typeof aCluster>[0]) =>
  computeStatus({
    cluster: aCluster(spec),
    pods: podsOf(w),
    desiredRevision: undefined,
    specErrors: [],
    health: assessEnsemble(readingsOf(w)),
    formed: true,
    now,
  });

test('status: 3 voters and 2 observers read 3/3+2/2; replicas and the quorum are the voters', (t) => {
  const w: World = { voters: 3, leader: 3, committed: [101, 102], podCount: 2 };
  const status = statusOf(w, { replicas: 3, observers: 2 });
  t.like(status, {
    replicas: 3,
    readyReplicas: 3,
    observers: 2,
    readyObservers: 2,
    ready: '3/3+2/2',
    quorum: { size: 3, syncedVoters: 3, faultTolerance: 1 },
  });
  t.deepEqual(
    status.members?.filter((m) => m.role === 'observer').map((m) => [m.pod, m.myid, m.voting, m.synced]),
    [
      ['example-observer-0', 101, false, true],
      ['example-observer-1', 102, false, true],
    ],
  );
});

test('status: an observer down leaves the quorum and fault tolerance whole, and says which', (t) => {
  const w: World = { voters: 3, leader: 3, committed: [101, 102], podCount: 2, down: [102] };
  const status = statusOf(w, { replicas: 3, observers: 2 });
  t.is(status.ready, '3/3+1/2');
  t.like(status.quorum, { size: 3, syncedVoters: 3, faultTolerance: 1 });
  const degraded = status.conditions?.find((c) => c.type === 'Degraded');
  t.is(degraded?.status, 'True');
  t.regex(degraded?.message ?? '', /example-observer-1/);
  t.is(status.conditions?.find((c) => c.type === 'Available')?.status, 'True');
});

test('status: without observers the READY column stays 3/3 and no observer fields appear', (t) => {
  const w: World = { voters: 3, leader: 3, committed: [], podCount: 0 };
  const status = statusOf(w, { replicas: 3 });
  t.is(status.ready, '3/3');
  t.false('observers' in status);
});

// Through `decide`: the observers move only once the voters have settled, and never change the voters' objects.

function snapshotWith(w: World, desired: { replicas: number; observers: number }): ClusterSnapshot {
  const cluster = aCluster(desired);
  cluster.metadata.creationTimestamp = new Date('2026-12-01T00:00:00Z');
  const current = renderCluster({
    cluster: aCluster({ replicas: w.voters, observers: w.podCount }),
    bootstrap: false,
    members: [...Array.from({ length: w.voters }, (_, i) => i + 1), ...w.committed],
    observerPodCount: w.podCount,
  });
  const podIds = [...Array.from({ length: w.voters }, (_, i) => i + 1), ...(w.pods ?? observerIdsUpTo(w.podCount))];
  return {
    cluster,
    spec: resolveSpec(cluster.spec),
    live: Object.fromEntries(
      OBJECT_FIELDS.flatMap((field) => (current[field] === undefined ? [] : [[field, current[field]]])),
    ),
    pods: podIds.map((myid) => ({
      metadata: {
        name: podOfServerId(cluster.metadata, myid),
        annotations: { [REVISION_ANNOTATION]: current.revision },
        creationTimestamp: now,
      },
      status: { podIP: `10.0.0.${myid}`, conditions: [{ type: 'Ready', status: 'True' }] },
    })),
    claims: [],
    health: assessEnsemble(readingsOf(w)),
    now,
  };
}

test('decide: while the voters scale up, the observers wait; then they are added', (t) => {
  const voters = decide(
    snapshotWith({ voters: 3, leader: 3, committed: [], podCount: 0 }, { replicas: 5, observers: 2 }),
  );
  t.like(voters.step, { kind: 'scale', step: { kind: 'raisePodCount', to: 4 } });
  t.is(voters.membership.observerPodCount, 0);
  const observers = decide(
    snapshotWith({ voters: 5, leader: 5, committed: [], podCount: 0 }, { replicas: 5, observers: 2 }),
  );
  t.like(observers.step, { kind: 'scale', step: { kind: 'raiseObserverCount', to: 1 } });
  t.is(observers.desired.observerStatefulSet?.spec?.replicas, 1);
  t.is(observers.desired.statefulSet.spec?.replicas, 5);
});

test('decide: an observer StatefulSet is never lowered below a committed observer, and the settled cluster has nothing to do', (t) => {
  const settled = decide(
    snapshotWith({ voters: 3, leader: 3, committed: [101, 102], podCount: 2 }, { replicas: 3, observers: 2 }),
  );
  t.like(settled.step, { kind: 'growVolumes', step: { kind: 'done' } });
  t.deepEqual(settled.changes, []);
  t.is(settled.membership.observerPodCount, 2);
  t.deepEqual(settled.membership.members, [1, 2, 3, 101, 102]);
  // Lowered by hand: the operator restores the count that covers every committed observer.
  const snapshot = snapshotWith(
    { voters: 3, leader: 3, committed: [101, 102], podCount: 2 },
    { replicas: 3, observers: 2 },
  );
  const live = snapshot.live.observerStatefulSet as V1StatefulSet;
  const lowered = decide({
    ...snapshot,
    live: {
      ...snapshot.live,
      observerStatefulSet: { ...live, spec: { ...(live.spec as V1StatefulSetSpec), replicas: 1 } },
    },
  });
  t.is(lowered.desired.observerStatefulSet?.spec?.replicas, 2);
  t.like(lowered.changes[0], { kind: 'update', field: 'spec.replicas' });
});

// Through `decide`: growing storage.size grows the observers' volumes with the voters'.

/** The StatefulSet with its data claim template at `size`. */
function withClaimSize(statefulSet: V1StatefulSet, size: string): V1StatefulSet {
  const spec = statefulSet.spec as V1StatefulSetSpec;
  return {
    ...statefulSet,
    metadata: { ...statefulSet.metadata, uid: `uid-${statefulSet.metadata?.name}` },
    spec: {
      ...spec,
      volumeClaimTemplates: (spec.volumeClaimTemplates ?? []).map((template) => ({
        ...template,
        spec: { ...template.spec, resources: { requests: { storage: size } } },
      })),
    },
  };
}

interface Volumes {
  /** spec.storage.size */
  size: string;
  voterTemplate: string;
  observerTemplate: string;
  /** Each member claim's [requested, capacity], by claim name. */
  claims: Record<string, [string, string]>;
  /** The observer StatefulSet: live, being deleted (recreated for new claim sizes), or gone. */
  observers?: 'live' | 'deleting' | 'gone';
  /** Claims whose file system grows only when their pod mounts them again, since this time. */
  pendingSince?: Record<string, Date>;
}

/** A settled cluster of 3 voters and one observer (example-observer-0), with these volumes. */
function volumesSnapshot(v: Volumes): ClusterSnapshot {
  const base = snapshotWith({ voters: 3, leader: 3, committed: [101], podCount: 1 }, { replicas: 3, observers: 1 });
  const cluster = aCluster({ replicas: 3, observers: 1, storage: { size: v.size } });
  cluster.metadata.creationTimestamp = new Date('2026-12-01T00:00:00Z');
  const { observerStatefulSet: liveObservers, ...otherObjects } = base.live;
  const observerStatefulSet = withClaimSize(liveObservers as V1StatefulSet, v.observerTemplate);
  const observers = v.observers ?? 'live';
  return {
    ...base,
    cluster,
    spec: resolveSpec(cluster.spec),
    live: {
      ...otherObjects,
      statefulSet: withClaimSize(base.live.statefulSet as V1StatefulSet, v.voterTemplate),
      ...(observers === 'gone'
        ? {}
        : observers === 'deleting'
          ? {
              observerStatefulSet: {
                ...observerStatefulSet,
                metadata: { ...observerStatefulSet.metadata, deletionTimestamp: now },
              },
            }
          : { observerStatefulSet }),
    },
    claims: Object.entries(v.claims).map(([name, [requested, capacity]]) => {
      const since = v.pendingSince?.[name];
      return {
        metadata: { name },
        spec: { resources: { requests: { storage: requested } } },
        status: {
          phase: 'Bound',
          capacity: { storage: capacity },
          ...(since === undefined
            ? {}
            : { conditions: [{ type: 'FileSystemResizePending', status: 'True', lastTransitionTime: since }] }),
        },
      };
    }),
  };
}

const memberClaims = (
  requested: string,
  capacity: string,
  names = ['data-example-0', 'data-example-1', 'data-example-2', 'data-example-observer-0'],
) => Object.fromEntries(names.map((name) => [name, [requested, capacity] as [string, string]]));

/** Both StatefulSets recreated with 20Gi claims, every claim grown to 20Gi but `claim`, at [requested, capacity]. */
const grownBut = (claim: string, sizes: [string, string]): Volumes => ({
  size: '20Gi',
  voterTemplate: '20Gi',
  observerTemplate: '20Gi',
  claims: { ...memberClaims('20Gi', '20Gi'), [claim]: sizes },
});

test("decide: a larger storage.size grows the observer's claim with the voters'", (t) => {
  const decision = decide(
    volumesSnapshot({
      size: '20Gi',
      voterTemplate: '10Gi',
      observerTemplate: '10Gi',
      claims: memberClaims('10Gi', '10Gi'),
    }),
  );
  t.like(decision.step, {
    kind: 'growVolumes',
    step: {
      kind: 'resizeClaims',
      claims: ['data-example-0', 'data-example-1', 'data-example-2', 'data-example-observer-0'],
      size: '20Gi',
    },
  });
  t.deepEqual(decision.changes, [], 'both StatefulSets keep their live claim templates until they are recreated');
});

test("decide: a claim of an observer beyond the observer StatefulSet's pods is not grown", (t) => {
  const decision = decide(volumesSnapshot(grownBut('data-example-observer-1', ['10Gi', '10Gi'])));
  t.like(decision.step, { kind: 'growVolumes', step: { kind: 'done' } });
});

test('decide: every claim grown and the voters recreated: the observer StatefulSet is recreated next, with the new size', (t) => {
  const volumes = {
    size: '20Gi',
    voterTemplate: '20Gi',
    observerTemplate: '10Gi',
    claims: memberClaims('20Gi', '20Gi'),
  };
  const recreate = decide(volumesSnapshot(volumes));
  t.like(recreate.step, {
    kind: 'growVolumes',
    step: { kind: 'recreateStatefulSet', statefulSet: 'example-observer' },
  });
  t.deepEqual(recreate.changes, []);

  const deleting = decide(volumesSnapshot({ ...volumes, observers: 'deleting' }));
  t.not(deleting.step.kind, 'growVolumes', 'no storage step while the observer StatefulSet is being deleted');
  t.deepEqual(deleting.changes, [], 'nor is it updated');

  const gone = decide(volumesSnapshot({ ...volumes, observers: 'gone' }));
  t.not(gone.step.kind, 'growVolumes', 'no storage step until the observer StatefulSet is back');
  t.like(gone.changes, [{ kind: 'create', object: { metadata: { name: 'example-observer' } } }]);
  const created = gone.desired.observerStatefulSet?.spec;
  t.is(created?.replicas, 1, 'it comes back covering the committed observer');
  t.is(created?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '20Gi');
  t.is(gone.desired.statefulSet.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '20Gi');
});

test('decide: both StatefulSets recreated; the step waits for the observer volume, then is done', (t) => {
  const waiting = decide(volumesSnapshot(grownBut('data-example-observer-0', ['20Gi', '10Gi'])));
  t.like(waiting.step, { kind: 'growVolumes', step: { kind: 'waitForVolumes' } });
  t.regex(
    waiting.step.kind === 'growVolumes' && 'reason' in waiting.step.step ? waiting.step.step.reason.message : '',
    /grow data-example-observer-0 \(10Gi\) to 20Gi/,
  );
  const done = decide(volumesSnapshot(grownBut('data-example-observer-0', ['20Gi', '20Gi'])));
  t.like(done.step, { kind: 'growVolumes', step: { kind: 'done' } });
  t.deepEqual(done.changes, []);
});

test('decide: an observer whose volume waits for a remount is restarted, observers first', (t) => {
  const decision = decide(
    volumesSnapshot({
      ...grownBut('data-example-observer-0', ['20Gi', '10Gi']),
      pendingSince: { 'data-example-observer-0': new Date(now.getTime() + 1_000) },
    }),
  );
  t.deepEqual(decision.remount, ['example-observer-0']);
  t.like(decision.step, { kind: 'roll', step: { kind: 'restart', pod: 'example-observer-0' } });
});
