import test from 'ava';
import fc from 'fast-check';
import { resolveSpec } from '../../../src/api/defaults.js';
import {
  memberClaimOf,
  nextScalingStep,
  REMOVED_MEMBER_ANNOTATION,
  type ScalingInput,
  type ScalingStep,
} from '../../../src/controller/scaling.js';
import { assessEnsemble, type MemberReading, majorityOf } from '../../../src/zookeeper/health.js';
import { aServingVoter } from '../../support/builders.js';

/**
 * The observed world, as the planner's inputs are built from it: pods run one member each;
 * `committed` is the leader's config; `zxid` the leader's last processed zxid and `version`
 * the zxid of the last reconfig (activated when zxid > version).
 */
interface World {
  desired: number;
  podCount: number;
  committed: number[];
  /** Server ids with a pod. */
  pods: number[];
  terminating: number[];
  /** Process down (unreachable). */
  down: number[];
  /** Serving, still syncing with the leader. */
  syncing: number[];
  /** Members that still report the config before the last reconfig (not activated yet). */
  staleConfig: number[];
  leader: number | undefined;
  zxid: bigint;
  version: bigint;
  claims: { myid: number; marked: boolean }[];
  reclaim: 'Delete' | 'Retain';
  paused: boolean;
  /** Seconds since the pods were created. */
  podAgeSeconds: number;
  /** Pods on a template the spec no longer asks for. */
  outdated: number[];
  /** Pods the kubelet cannot start (ImagePullBackOff and the like). */
  stuck: number[];
}

interface WorldOptions {
  size: number;
  desired: number;
  leader?: number | undefined;
  committed?: number[];
  pods?: number[];
  podCount?: number;
  terminating?: number[];
  down?: number[];
  syncing?: number[];
  staleConfig?: number[];
  /** Writes after the last reconfig. */
  activated?: boolean;
  claims?: { myid: number; marked: boolean }[];
  reclaim?: 'Delete' | 'Retain';
  paused?: boolean;
  podAgeSeconds?: number;
  outdated?: number[];
  stuck?: number[];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

function aWorld(o: WorldOptions): World {
  const pods = o.pods ?? range(o.podCount ?? o.size);
  return {
    desired: o.desired,
    podCount: o.podCount ?? Math.max(0, ...pods),
    committed: o.committed ?? range(o.size),
    pods,
    terminating: o.terminating ?? [],
    down: o.down ?? [],
    syncing: o.syncing ?? [],
    staleConfig: o.staleConfig ?? [],
    leader: 'leader' in o ? o.leader : Math.max(...(o.committed ?? range(o.size))),
    version: 0x100000010n,
    zxid: o.activated === false ? 0x100000010n : 0x100000012n,
    claims: o.claims ?? pods.map((myid) => ({ myid, marked: false })),
    reclaim: o.reclaim ?? 'Delete',
    paused: o.paused ?? false,
    podAgeSeconds: o.podAgeSeconds ?? 30,
    outdated: o.outdated ?? [],
    stuck: o.stuck ?? [],
  };
}

const cluster = { name: 'zk', namespace: 'ns' };
const now = new Date('2026-11-25T12:00:00Z');
const spec = resolveSpec({});
const podName = (myid: number) => `zk-${myid - 1}`;
const claimName = (myid: number) => `data-zk-${myid - 1}`;
const hex = (value: bigint) => value.toString(16);

/** Readings shaped like ZooKeeper's answers, through the real health model. */
function readingsOf(w: World): MemberReading[] {
  const serving = (id: number) => w.pods.includes(id) && !w.down.includes(id);
  const leaderServes = w.leader !== undefined && serving(w.leader);
  const conf = {
    members: w.committed.map((myid) => ({ myid, host: podName(myid), role: 'participant' as const })),
    configVersion: hex(w.version),
  };
  const followers = w.pods.filter((id) => id !== w.leader && serving(id) && !w.syncing.includes(id));
  return w.pods.map((myid) => {
    const pod = podName(myid);
    if (!serving(myid)) return { pod, myid, unreachable: 'connection refused' };
    if (!leaderServes) return { pod, myid };
    return aServingVoter({
      pod,
      myid,
      zxid: `0x${hex(w.zxid)}`,
      epoch: Number(w.zxid >> 32n),
      syncing: w.syncing.includes(myid),
      conf: w.staleConfig.includes(myid)
        ? { ...conf, serverId: myid, configVersion: hex(w.version - 1n) }
        : { ...conf, serverId: myid },
      ...(myid === w.leader
        ? {
            leads: {
              quorumSize: w.committed.length,
              syncedFollowers: followers.length,
              syncedNonVotingFollowers: followers.filter((id) => !w.committed.includes(id)).length,
            },
          }
        : {}),
    });
  });
}

function inputOf(w: World): ScalingInput {
  return {
    cluster,
    spec,
    clientOnLoopback: false,
    desiredReplicas: w.desired,
    podCount: w.podCount,
    pods: w.pods.map((myid) => ({
      name: podName(myid),
      myid,
      terminating: w.terminating.includes(myid),
      createdAt: new Date(now.getTime() - w.podAgeSeconds * 1000),
      revision: w.outdated.includes(myid) ? 'r0' : 'r1',
      stuck: w.stuck.includes(myid),
      ready: !w.down.includes(myid) && !w.stuck.includes(myid),
    })),
    claims: w.claims.map((c) => ({ name: claimName(c.myid), myid: c.myid, markedRemoved: c.marked })),
    reclaimPolicy: w.reclaim,
    health: assessEnsemble(readingsOf(w)),
    paused: w.paused,
    stepTimeoutMs: 600_000,
    desiredRevision: 'r1',
    now,
  };
}

function describe(step: ScalingStep): string {
  switch (step.kind) {
    case 'done':
      return 'done';
    case 'wait':
      return `wait ${step.reason.code}`;
    case 'raisePodCount':
    case 'lowerPodCount':
    case 'raiseObserverCount':
    case 'lowerObserverCount':
      return `${step.kind} ${step.to}`;
    case 'addMember':
    case 'removeMember':
      return `${step.kind} ${step.myid}`;
    case 'commitWrite':
      return 'commitWrite';
    case 'deleteClaim':
    case 'markClaim':
      return `${step.kind} ${step.claim}`;
    case 'replaceJoiner':
      return `replaceJoiner ${step.pod}`;
    default: {
      const unexpected: never = step;
      return String(unexpected);
    }
  }
}

const plan = (o: WorldOptions) => nextScalingStep(inputOf(aWorld(o)));

const cases: { name: string; world: WorldOptions; expect: string }[] = [
  { name: 'nothing to do', world: { size: 3, desired: 3 }, expect: 'done' },
  { name: '3 -> 5 starts one joiner', world: { size: 3, desired: 5 }, expect: 'raisePodCount 4' },
  {
    name: '3 -> 5 adds the joiner once it is a synced non-voting follower',
    world: { size: 3, desired: 5, pods: [1, 2, 3, 4] },
    expect: 'addMember 4',
  },
  {
    name: 'a joiner not yet synced is waited for',
    world: { size: 3, desired: 5, pods: [1, 2, 3, 4], syncing: [4] },
    expect: 'wait WaitingForJoiner',
  },
  {
    name: 'a joiner that has not synced within the step timeout stalls the scaling',
    world: { size: 3, desired: 5, pods: [1, 2, 3, 4], down: [4], podAgeSeconds: 900 },
    expect: 'wait JoinerStalled',
  },
  {
    name: 'a joiner that is down is waited for',
    world: { size: 3, desired: 5, pods: [1, 2, 3, 4], down: [4] },
    expect: 'wait WaitingForJoiner',
  },
  {
    name: 'a joiner stuck on a template the spec no longer asks for is replaced',
    world: { size: 3, desired: 4, pods: [1, 2, 3, 4], down: [4], stuck: [4], outdated: [4] },
    expect: 'replaceJoiner zk-3',
  },
  {
    name: 'a joiner down (not ready, not serving) on an outdated template is replaced',
    world: { size: 3, desired: 4, pods: [1, 2, 3, 4], down: [4], outdated: [4] },
    expect: 'replaceJoiner zk-3',
  },
  {
    name: 'a joiner stuck on the current template is waited for: replacing it would change nothing',
    world: { size: 3, desired: 4, pods: [1, 2, 3, 4], down: [4], stuck: [4] },
    expect: 'wait WaitingForJoiner',
  },
  {
    name: 'an outdated joiner that serves and syncs is left to finish',
    world: { size: 3, desired: 4, pods: [1, 2, 3, 4], syncing: [4], outdated: [4] },
    expect: 'wait WaitingForJoiner',
  },
  {
    name: 'a synced joiner on an outdated template (a leader after its hand-off) is replaced, not added',
    world: { size: 2, desired: 3, pods: [1, 2, 3], outdated: [3] },
    expect: 'replaceJoiner zk-2',
  },
  {
    name: 'a joiner being deleted is not replaced again',
    world: { size: 3, desired: 4, pods: [1, 2, 3, 4], down: [4], outdated: [4], terminating: [4] },
    expect: 'wait MemberTerminating',
  },
  {
    name: '3 -> 5 continues with the next joiner after the add',
    world: { size: 4, desired: 5 },
    expect: 'raisePodCount 5',
  },
  {
    name: 'the next joiner waits until the added member has activated the new config',
    world: { size: 4, desired: 5, leader: 3, staleConfig: [4] },
    expect: 'wait ConfigVersionMismatch',
  },
  {
    name: 'the next joiner waits while the added member is still syncing',
    world: { size: 4, desired: 5, leader: 3, syncing: [4] },
    expect: 'wait WaitingForSync',
  },
  { name: '5 -> 3 removes the highest id first', world: { size: 5, desired: 3, leader: 2 }, expect: 'removeMember 5' },
  {
    name: 'the leader is removed when it has the highest id',
    world: { size: 5, desired: 3, leader: 5 },
    expect: 'removeMember 5',
  },
  {
    name: 'a removed member is activated by a write before its pod goes',
    world: { size: 5, desired: 3, committed: [1, 2, 3, 4], activated: false },
    expect: 'commitWrite',
  },
  {
    name: 'the StatefulSet is lowered once the config without the member is active',
    world: { size: 5, desired: 3, committed: [1, 2, 3, 4] },
    expect: 'lowerPodCount 4',
  },
  {
    name: 'a pod on its way out is waited for',
    world: { size: 4, desired: 3, pods: [1, 2, 3, 4, 5], podCount: 4, terminating: [5] },
    expect: 'wait MemberTerminating',
  },
  {
    name: 'Delete: the claim of a removed member is deleted',
    world: { size: 4, desired: 3, claims: range(5).map((myid) => ({ myid, marked: false })) },
    expect: 'deleteClaim data-zk-4',
  },
  {
    name: 'Retain: the claim of a removed member is marked',
    world: { size: 4, desired: 3, reclaim: 'Retain', claims: range(5).map((myid) => ({ myid, marked: false })) },
    expect: 'markClaim data-zk-4',
  },
  {
    name: 'Retain: a marked claim stays while the cluster is smaller',
    world: {
      size: 3,
      desired: 3,
      reclaim: 'Retain',
      claims: [...range(3).map((myid) => ({ myid, marked: false })), { myid: 4, marked: true }],
    },
    expect: 'done',
  },
  {
    name: 'Retain: a marked claim is released before its ordinal is reused',
    world: {
      size: 3,
      desired: 4,
      reclaim: 'Retain',
      claims: [...range(3).map((myid) => ({ myid, marked: false })), { myid: 4, marked: true }],
    },
    expect: 'deleteClaim data-zk-3',
  },
  { name: '1 -> 3 starts a joiner', world: { size: 1, desired: 3 }, expect: 'raisePodCount 2' },
  { name: '1 -> 3 adds the second member', world: { size: 1, desired: 3, pods: [1, 2] }, expect: 'addMember 2' },
  { name: '3 -> 1 removes server 3', world: { size: 3, desired: 1, leader: 1 }, expect: 'removeMember 3' },
  {
    name: '3 -> 1 removes server 2 down to a single voter',
    world: { size: 2, desired: 1, leader: 2 },
    expect: 'removeMember 2',
  },
  { name: 'even sizes are allowed: 3 -> 2', world: { size: 3, desired: 2, leader: 1 }, expect: 'removeMember 3' },
  {
    name: 'a member down: 5 -> 3 still removes server 5',
    world: { size: 5, desired: 3, leader: 1, down: [2] },
    expect: 'removeMember 5',
  },
  {
    name: 'a member down: 4 -> 3 removes the down member itself',
    world: { size: 4, desired: 3, leader: 1, down: [4] },
    expect: 'removeMember 4',
  },
  {
    name: 'a member down: 3 -> 2 would leave no synced majority',
    world: { size: 3, desired: 2, leader: 3, down: [1] },
    expect: 'wait QuorumAtRisk',
  },
  {
    name: 'a member down: 3 -> 4 still starts and adds a joiner',
    world: { size: 3, desired: 4, leader: 3, down: [1], pods: [1, 2, 3, 4] },
    expect: 'addMember 4',
  },
  {
    name: 'repair: the config is ahead of the pod count, the voter gets its pod back',
    world: { size: 4, desired: 4, pods: [1, 2, 3], leader: 3 },
    expect: 'raisePodCount 4',
  },
  {
    name: 'repair: the config is ahead of the pod count and the target is lower, the voter is removed',
    world: { size: 4, desired: 3, pods: [1, 2, 3], leader: 3 },
    expect: 'removeMember 4',
  },
  {
    name: 'repair: operator restarted between the reconfig and the StatefulSet change',
    world: { size: 5, desired: 3, committed: [1, 2, 3, 4], pods: range(5) },
    expect: 'lowerPodCount 4',
  },
  {
    name: 'repair: a joiner whose pod was lost is waited for',
    world: { size: 3, desired: 4, pods: [1, 2, 3], podCount: 4 },
    expect: 'wait MemberMissing',
  },
  {
    name: 'repair: a voter pod lost mid scale-up holds the next joiner',
    world: { size: 3, desired: 5, pods: [1, 3], podCount: 3 },
    expect: 'wait MemberMissing',
  },
  {
    name: 'repair: the target dropped while a joiner was syncing, the joiner is scaled away',
    world: { size: 3, desired: 3, pods: [1, 2, 3, 4] },
    expect: 'lowerPodCount 3',
  },
  { name: 'paused', world: { size: 3, desired: 5, paused: true }, expect: 'wait Paused' },
  { name: 'paused with nothing to do is done', world: { size: 3, desired: 3, paused: true }, expect: 'done' },
  { name: 'no leader: nothing changes', world: { size: 3, desired: 5, leader: undefined }, expect: 'wait NoQuorum' },
  {
    name: 'no quorum: two of three down',
    world: { size: 3, desired: 1, leader: 3, down: [1, 2] },
    expect: 'wait NoQuorum',
  },
];

for (const c of cases) {
  test(`scaling: ${c.name}`, (t) => {
    t.is(describe(plan(c.world)), c.expect);
  });
}

test('scaling: the add is conditional on the version read and carries the rendered server line', (t) => {
  const step = plan({ size: 3, desired: 4, pods: [1, 2, 3, 4] });
  t.deepEqual(step, {
    kind: 'addMember',
    myid: 4,
    serverLine: 'server.4=zk-3.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181',
    fromVersion: '100000010',
    reason: {
      code: 'AddingMember',
      message: 'adding zk-3 (server 4) to config 100000010: 3 -> 4 voters, target 4',
    },
  });
});

test('scaling: a stalled joiner is flagged for a person', (t) => {
  t.like(plan({ size: 3, desired: 4, pods: [1, 2, 3, 4], syncing: [4], podAgeSeconds: 900 }), {
    kind: 'wait',
    stalled: true,
    reason: { code: 'JoinerStalled' },
  });
  t.like(plan({ size: 3, desired: 4, pods: [1, 2, 3, 4], syncing: [4] }), { kind: 'wait', stalled: false });
});

test('scaling: removing the leader says so', (t) => {
  t.like(plan({ size: 5, desired: 3, leader: 5 }), {
    kind: 'removeMember',
    fromVersion: '100000010',
    reason: { code: 'RemovingLeader' },
  });
});

test('scaling: the wait for quorum names the members that are not synced', (t) => {
  const step = plan({ size: 3, desired: 2, leader: 3, down: [1] });
  t.like(step, { kind: 'wait', reason: { code: 'QuorumAtRisk' } });
  t.regex(step.kind === 'wait' ? step.reason.message : '', /not synced: server 1/);
});

test('claims: the data claims of members are recognised, with their removal mark', (t) => {
  t.deepEqual(memberClaimOf('zk', 'data-zk-0', undefined), { name: 'data-zk-0', myid: 1, markedRemoved: false });
  t.deepEqual(memberClaimOf('zk', 'data-zk-4', { [REMOVED_MEMBER_ANNOTATION]: '100000012' }), {
    name: 'data-zk-4',
    myid: 5,
    markedRemoved: true,
  });
  for (const other of ['data-zk-extra-0', 'data-zkb-0', 'logs-zk-0', 'data-zk-', 'data-zk-01', 'data-zk-1x']) {
    t.is(memberClaimOf('zk', other, undefined), undefined, other);
  }
});

// ---- properties --------------------------------------------------------------------------

const membershipChanges = new Set(['addMember', 'removeMember']);

/** Any observed world: config, pods and health loosely related, skewed towards quorum. */
const arbitraryWorld = fc.integer({ min: 1, max: 7 }).chain((size) => {
  const id = fc.integer({ min: 1, max: size + 2 });
  const ids = (maxLength: number) => fc.uniqueArray(id, { maxLength });
  return fc
    .record({
      size: fc.constant(size),
      desired: fc.integer({ min: 1, max: 7 }),
      leaderIndex: fc.option(fc.nat(), { nil: undefined, freq: 8 }),
      committed: fc.uniqueArray(id, { minLength: 1, maxLength: size + 2 }),
      podCount: fc.integer({ min: 0, max: size + 2 }),
      /** Pods: 1..podCount with some missing and some extra, or any set. */
      pods: fc.oneof(
        fc.record({ absent: ids(2), extra: ids(1) }),
        ids(size + 2).map((any) => ({ any })),
      ),
      terminating: ids(1),
      down: ids(2),
      syncing: ids(2),
      activated: fc.boolean(),
      reclaim: fc.constantFrom('Delete' as const, 'Retain' as const),
      paused: fc.constantFrom(false, false, false, false, true),
      claims: fc.uniqueArray(fc.record({ myid: id, marked: fc.boolean() }), { selector: (c) => c.myid }),
    })
    .map(({ leaderIndex, pods, ...o }): WorldOptions => {
      const committed = [...o.committed].sort((a, b) => a - b);
      const podIds =
        'any' in pods
          ? pods.any
          : [...new Set([...range(o.podCount).filter((i) => !pods.absent.includes(i)), ...pods.extra])];
      return {
        ...o,
        committed,
        pods: podIds.sort((a, b) => a - b),
        leader: leaderIndex === undefined ? undefined : committed[leaderIndex % committed.length],
      };
    });
});

/** The synced voters of `config` in world `w`. */
function syncedVotersOf(w: World, config: number[]): number {
  const health = assessEnsemble(readingsOf(w));
  return config.filter((id) => health.members.some((m) => m.myid === id && m.serving && m.synced)).length;
}

/** Checks the safety rules for one step; returns what is wrong, or undefined. */
function violation(w: World, step: ScalingStep): string | undefined {
  const health = assessEnsemble(readingsOf(w));
  if (membershipChanges.has(step.kind) && (!health.available || w.paused)) return 'a change without quorum or paused';
  switch (step.kind) {
    case 'addMember': {
      const next = [...w.committed, step.myid];
      if (w.committed.includes(step.myid)) return 'adds a voter that is in the config';
      if (step.fromVersion !== hex(w.version)) return 'not conditional on the version read';
      if (syncedVotersOf(w, next) < majorityOf(next.length)) return 'the new config would have no synced majority';
      return undefined;
    }
    case 'removeMember': {
      const next = w.committed.filter((id) => id !== step.myid);
      if (next.length === w.committed.length) return 'removes a member that is not in the config';
      if (next.length === 0) return 'removes the last voter';
      if (step.fromVersion !== hex(w.version)) return 'not conditional on the version read';
      if (syncedVotersOf(w, next) < majorityOf(next.length)) return 'the new config would have no synced majority';
      return undefined;
    }
    case 'raisePodCount':
      if (step.to !== w.podCount + 1) return 'raises by more than one';
      if (w.pods.some((id) => !w.committed.includes(id))) return 'a second joiner while one is outside the config';
      return undefined;
    case 'lowerPodCount':
      if (step.to !== w.podCount - 1) return 'lowers by more than one';
      if (w.committed.includes(w.podCount)) return "lowers away a committed voter's pod";
      return undefined;
    case 'deleteClaim': {
      const claim = w.claims.find((c) => claimName(c.myid) === step.claim);
      if (claim === undefined) return 'deletes an unknown claim';
      if (w.committed.includes(claim.myid)) return "deletes a committed voter's claim";
      if (w.pods.includes(claim.myid)) return 'deletes the claim of a pod that still exists';
      return undefined;
    }
    default:
      return undefined;
  }
}

test('property: from any observed state at most one membership change, never one that loses quorum', (t) => {
  fc.assert(
    fc.property(arbitraryWorld, (o) => {
      const w = aWorld(o);
      const step = nextScalingStep(inputOf(w));
      const wrong = violation(w, step);
      if (wrong !== undefined) throw new Error(`${describe(step)}: ${wrong}`);
      return true;
    }),
    { numRuns: 20000 },
  );
  t.pass('fc.assert throws on a counterexample');
});

test('property: the step does not depend on the order of pods, claims or readings', (t) => {
  fc.assert(
    fc.property(arbitraryWorld, (o) => {
      const w = aWorld(o);
      const reversed = { ...w, pods: [...w.pods].reverse(), claims: [...w.claims].reverse() };
      return JSON.stringify(nextScalingStep(inputOf(w))) === JSON.stringify(nextScalingStep(inputOf(reversed)));
    }),
  );
  t.pass('fc.assert throws on a counterexample');
});

/** What the operator and ZooKeeper do with a step, then what happens by itself before the next reconcile. */
function apply(w: World, step: ScalingStep): World {
  const next: World = structuredClone(w);
  switch (step.kind) {
    case 'raisePodCount':
      next.podCount = step.to;
      next.pods = [...next.pods, step.to];
      // A new member starts syncing; it is synced by the next reconcile but one.
      if (!next.committed.includes(step.to)) next.syncing = [...next.syncing, step.to];
      if (!next.claims.some((c) => c.myid === step.to))
        next.claims = [...next.claims, { myid: step.to, marked: false }];
      return next;
    case 'lowerPodCount':
      next.podCount = step.to;
      next.terminating = next.pods.filter((id) => id > step.to);
      return next;
    case 'addMember':
      next.committed = [...next.committed, step.myid].sort((a, b) => a - b);
      next.zxid += 1n;
      next.version = next.zxid;
      return next;
    case 'removeMember': {
      next.committed = next.committed.filter((id) => id !== step.myid);
      next.zxid += 1n;
      next.version = next.zxid;
      if (step.myid === next.leader) {
        // Leadership moves to a synced voter of the new config, in a new epoch.
        next.leader = Math.max(...next.committed.filter((id) => next.pods.includes(id) && !next.down.includes(id)));
        next.zxid = ((next.zxid >> 32n) + 1n) << 32n;
      }
      return next;
    }
    case 'commitWrite':
      next.zxid += 1n;
      return next;
    case 'deleteClaim':
      next.claims = next.claims.filter((c) => claimName(c.myid) !== step.claim);
      return next;
    case 'markClaim':
      next.claims = next.claims.map((c) => (claimName(c.myid) === step.claim ? { ...c, marked: true } : c));
      return next;
    case 'done':
    case 'wait':
      return next;
    case 'raiseObserverCount':
    case 'lowerObserverCount':
      throw new Error(`the voters' planner never moves the observers: ${step.kind}`);
    case 'replaceJoiner':
      // The StatefulSet recreates it from the current template.
      next.outdated = next.outdated.filter((id) => podName(id) !== step.pod);
      next.stuck = next.stuck.filter((id) => podName(id) !== step.pod);
      return next;
    default: {
      const unexpected: never = step;
      throw new Error(`unknown step ${String(unexpected)}`);
    }
  }
}

/** Time passes: terminating pods are gone, syncing members finish syncing. */
function settle(w: World): World {
  return {
    ...w,
    pods: w.pods.filter((id) => !w.terminating.includes(id)),
    terminating: [],
    syncing: [],
  };
}

interface Run {
  steps: string[];
  world: World;
  converged: boolean;
}

function simulate(start: World, maxSteps = 200): Run {
  let w = start;
  const steps: string[] = [];
  for (let i = 0; i < maxSteps; i++) {
    const step = nextScalingStep(inputOf(w));
    steps.push(describe(step));
    const wrong = violation(w, step);
    if (wrong !== undefined) throw new Error(`${describe(step)}: ${wrong} after ${steps.join(', ')}`);
    if (step.kind === 'done') return { steps, world: w, converged: true };
    w = apply(w, step);
    if (!assessEnsemble(readingsOf(w)).available) throw new Error(`lost quorum after ${steps.join(', ')}`);
    // A wait needs time to pass; an action is observed by the next reconcile first.
    if (step.kind === 'wait') w = settle(w);
  }
  return { steps, world: w, converged: false };
}

const actions = (run: Run) => run.steps.filter((s) => !s.startsWith('wait'));

test('simulation: 3 -> 5 -> 3 -> 1 -> 3 with reclaim policy Delete', (t) => {
  const up = simulate(aWorld({ size: 3, desired: 5 }));
  t.true(up.converged);
  t.deepEqual(actions(up), ['raisePodCount 4', 'addMember 4', 'raisePodCount 5', 'addMember 5', 'done']);
  const down = simulate({ ...up.world, desired: 3, leader: 1 });
  t.deepEqual(actions(down), [
    'removeMember 5',
    'commitWrite',
    'lowerPodCount 4',
    'deleteClaim data-zk-4',
    'removeMember 4',
    'commitWrite',
    'lowerPodCount 3',
    'deleteClaim data-zk-3',
    'done',
  ]);
  const one = simulate({ ...down.world, desired: 1 });
  t.true(one.converged);
  t.deepEqual(one.world.committed, [1]);
  t.deepEqual(
    one.world.claims.map((c) => c.myid),
    [1],
  );
  const again = simulate({ ...one.world, desired: 3 });
  t.true(again.converged);
  t.deepEqual(again.world.committed, [1, 2, 3]);
  t.is(again.world.podCount, 3);
});

test('simulation: removing the leader needs no extra write: the new leader starts a new epoch', (t) => {
  const run = simulate(aWorld({ size: 5, desired: 4, leader: 5 }));
  t.deepEqual(actions(run), ['removeMember 5', 'lowerPodCount 4', 'deleteClaim data-zk-4', 'done']);
  t.is(run.world.leader, 4);
});

test('simulation: Retain marks the claims of removed members and releases them before reuse', (t) => {
  const down = simulate(aWorld({ size: 3, desired: 1, reclaim: 'Retain', leader: 2 }));
  t.true(down.converged);
  t.deepEqual(down.world.claims, [
    { myid: 1, marked: false },
    { myid: 2, marked: true },
    { myid: 3, marked: true },
  ]);
  const up = simulate({ ...down.world, desired: 3 });
  t.true(up.converged);
  t.deepEqual(actions(up).slice(0, 3), ['deleteClaim data-zk-1', 'raisePodCount 2', 'addMember 2']);
  t.deepEqual(up.world.claims, [
    { myid: 1, marked: false },
    { myid: 2, marked: false },
    { myid: 3, marked: false },
  ]);
});

test('property: a simulation that applies the steps converges to the desired size', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 7 }),
      fc.constantFrom('Delete' as const, 'Retain' as const),
      (size, desired, leaderSeed, reclaim) => {
        const leader = ((leaderSeed - 1) % size) + 1;
        const run = simulate(aWorld({ size, desired, leader, reclaim }));
        if (!run.converged) throw new Error(`no convergence: ${run.steps.join(', ')}`);
        const changes = run.steps.filter((s) => /^(addMember|removeMember)/.test(s)).length;
        return (
          JSON.stringify(run.world.committed) === JSON.stringify(range(desired)) &&
          run.world.podCount === desired &&
          JSON.stringify(run.world.pods) === JSON.stringify(range(desired)) &&
          changes === Math.abs(size - desired) &&
          run.world.claims.every((c) => c.myid <= desired || (reclaim === 'Retain' && c.marked))
        );
      },
    ),
    { numRuns: 500 },
  );
  t.pass('fc.assert throws on a counterexample');
});

test('property: interrupted at any step and re-targeted, the planner still converges', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 12 }),
      (size, firstTarget, secondTarget, interruptAfter) => {
        const first = simulate(aWorld({ size, desired: firstTarget }), interruptAfter);
        const run = simulate({ ...first.world, desired: secondTarget });
        if (!run.converged) throw new Error(`no convergence: ${[...first.steps, '|', ...run.steps].join(', ')}`);
        return (
          JSON.stringify(run.world.committed) === JSON.stringify(range(secondTarget)) &&
          run.world.podCount === secondTarget
        );
      },
    ),
    { numRuns: 1000 },
  );
  t.pass('fc.assert throws on a counterexample');
});
