import type { V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import fc from 'fast-check';
import { REVISION_ANNOTATION } from '../../../src/api/constants.js';
import type { ZooKeeperClusterStatus } from '../../../src/api/types.js';
import { mergeConditions } from '../../../src/controller/conditions.js';
import { computeStatus } from '../../../src/controller/status.js';
import { canonicalJson } from '../../../src/render/canonical-json.js';
import { assessEnsemble } from '../../../src/zookeeper/health.js';
import type { ConfReading, SrvrReading } from '../../../src/zookeeper/readings.js';
import { aCluster } from '../../support/builders.js';

const now = new Date('2026-11-25T12:00:00Z');
const follower: SrvrReading = { version: '3.9.4', mode: 'follower', zxid: '0x100000003', epoch: 1 };
const conf: ConfReading = {
  serverId: 1,
  members: [1, 2, 3].map((myid) => ({ myid, host: `example-${myid - 1}`, role: 'participant' as const })),
  configVersion: '100000000',
};
const later = new Date('2026-11-25T12:05:00Z');

function aPod(ordinal: number, options: { ready?: boolean; revision?: string; image?: string } = {}): V1Pod {
  return {
    metadata: { name: `example-${ordinal}`, annotations: { [REVISION_ANNOTATION]: options.revision ?? 'r1' } },
    spec: { containers: [{ name: 'zookeeper', image: options.image ?? 'zookeeper:3.9.4' }] },
    status: { conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] },
  };
}

const status = (
  pods: V1Pod[],
  previous?: ZooKeeperClusterStatus,
  extra: Partial<Parameters<typeof computeStatus>[0]> = {},
) =>
  computeStatus({
    cluster: { ...aCluster({ replicas: 3 }), ...(previous ? { status: previous } : {}) },
    pods,
    desiredRevision: 'r1',
    specErrors: [],
    formed: false,
    now,
    ...extra,
  });
const condition = (s: ZooKeeperClusterStatus, type: string) => s.conditions?.find((c) => c.type === type);

test('all members ready on the desired revision: Running, Available, not Degraded, not Progressing', (t) => {
  const s = status([aPod(0), aPod(1), aPod(2)]);
  t.is(s.phase, 'Running');
  t.is(s.ready, '3/3');
  t.is(s.readyReplicas, 3);
  t.is(s.replicas, 3);
  t.is(s.selector, 'app.kubernetes.io/instance=example,app.kubernetes.io/name=zookeeper');
  t.is(s.observedGeneration, 1);
  t.is(condition(s, 'Available')?.status, 'True');
  t.is(condition(s, 'Degraded')?.status, 'False');
  t.is(condition(s, 'Progressing')?.status, 'False');
  t.is(s.currentVersion, '3.9.4');
  t.is(s.targetVersion, '3.9.4');
  t.is(s.clientConnectionString, 'example-client.default.svc.cluster.local:2181');
});

test('a new ensemble below quorum is Creating, with its members starting', (t) => {
  const s = status([aPod(0, { ready: false }), aPod(1, { ready: false })]);
  t.is(s.phase, 'Creating');
  t.is(condition(s, 'Available')?.reason, 'Creating');
  t.is(condition(s, 'Progressing')?.reason, 'MembersStarting');
  t.regex(
    condition(s, 'Degraded')?.message ?? '',
    /not serving in sync: example-0, example-1; 1 member pod\(s\) missing/,
  );
});

test('one member down after forming: Available but Degraded, naming the member', (t) => {
  const formed = status([aPod(0), aPod(1), aPod(2)]);
  const s = status([aPod(0), aPod(1, { ready: false }), aPod(2)], formed);
  t.is(s.phase, 'Degraded');
  t.is(condition(s, 'Degraded')?.message, 'not serving in sync: example-1; fault tolerance 0 of 1');
});

test("a member down in a crash loop: Degraded says why, in the kubelet's words", (t) => {
  const formed = status([aPod(0), aPod(1), aPod(2)]);
  const crashing: V1Pod = {
    ...aPod(1, { ready: false }),
    status: {
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'zookeeper',
          image: 'zookeeper:3.9.4',
          imageID: '',
          ready: false,
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
        },
      ],
    },
  };
  const s = status([aPod(0), crashing, aPod(2)], formed);
  t.is(
    condition(s, 'Degraded')?.message,
    'not serving in sync: example-1 (CrashLoopBackOff: back-off 1m20s restarting failed container; last exit code 1 (Error)); fault tolerance 0 of 1',
  );
});

test('below quorum is NoQuorum when the evidence says the ensemble exists, whatever the status said', (t) => {
  const formed = status([aPod(0), aPod(1), aPod(2)]);
  const lost = status([aPod(0), aPod(1, { ready: false }), aPod(2, { ready: false })], formed, { formed: true });
  t.is(lost.phase, 'Unavailable');
  t.is(condition(lost, 'Available')?.reason, 'NoQuorum');
  const again = status([aPod(0, { ready: false })], undefined, { formed: true });
  t.is(condition(again, 'Available')?.reason, 'NoQuorum');
  // A status that remembers an Available ensemble does not make it formed: the evidence decides.
  const remembered = status([aPod(0, { ready: false })], formed, { formed: false });
  t.is(condition(remembered, 'Available')?.reason, 'Creating');
});

test('a roll in progress: Restarting, with the member and the reason in Progressing and operation', (t) => {
  const roll = {
    kind: 'restart' as const,
    pod: 'example-2',
    reason: { code: 'RestartingFollower', message: 'restarting example-2' },
  };
  const s = status([aPod(0), aPod(1, { revision: 'old' }), aPod(2, { revision: 'old' })], undefined, { roll });
  t.is(s.phase, 'Restarting');
  t.like(condition(s, 'Progressing'), {
    status: 'True',
    reason: 'RestartingFollower',
    message: 'restarting example-2',
  });
  t.like(s.operation, { kind: 'RollingRestart', member: 'example-2', done: 1, total: 3 });
  t.is(s.currentRevision, undefined, 'members disagree on the revision');
});

test('a stalled roll is Degraded with the stall reason', (t) => {
  const roll = {
    kind: 'wait' as const,
    stalled: true,
    reason: {
      code: 'RollStalled',
      message: 'waiting for example-1 to serve and sync with the leader (more than 600 s)',
    },
  };
  const s = status([aPod(0, { revision: 'old' }), aPod(1, { ready: false }), aPod(2)], undefined, { roll });
  t.like(condition(s, 'Degraded'), { status: 'True', reason: 'RollStalled' });
  t.like(condition(s, 'Progressing'), { status: 'True', reason: 'RollStalled' });
});

test('with ZooKeeper readings: leader, members, quorum and config version come from ZooKeeper', (t) => {
  const health = assessEnsemble([
    {
      pod: 'example-0',
      myid: 1,
      srvr: follower,
      mntr: { serverState: 'follower', peerState: 'following - broadcast' },
      conf,
    },
    { pod: 'example-1', myid: 2, unreachable: 'connection refused' },
    {
      pod: 'example-2',
      myid: 3,
      srvr: { ...follower, mode: 'leader' },
      mntr: {
        serverState: 'leader',
        peerState: 'leading - broadcast',
        quorumSize: 3,
        syncedFollowers: 1,
        syncedNonVotingFollowers: 0,
      },
      conf,
    },
  ]);
  const s = status([aPod(0), aPod(1), aPod(2)], undefined, { health });
  t.is(s.leader, 'example-2');
  t.deepEqual(s.quorum, { size: 3, syncedVoters: 2, faultTolerance: 0 });
  t.is(s.configVersion, '100000000');
  t.is(s.ready, '2/3', 'a Ready pod that ZooKeeper does not count is not ready');
  t.like(s.members?.[1], { pod: 'example-1', serving: false, synced: false, role: 'unknown' });
  t.like(condition(s, 'Available'), {
    status: 'True',
    message: '2 of 3 voters synced, leader example-2; a quorum needs 2',
  });
  t.like(condition(s, 'Degraded'), {
    status: 'True',
    reason: 'MembersNotSynced',
    message: 'not serving in sync: example-1; fault tolerance 0 of 1',
  });
  t.is(s.phase, 'Degraded');
});

test('an invalid spec is reported as Degraded with its reason, and progress stops', (t) => {
  const problem = { reason: 'HeapExceedsMemoryLimit', message: 'jvm.heapMiB must be smaller than the limit' };
  const s = status([aPod(0), aPod(1), aPod(2)], undefined, { specErrors: [problem] });
  t.like(condition(s, 'Degraded'), { status: 'True', ...problem });
  t.like(condition(s, 'Progressing'), { status: 'False', reason: 'InvalidSpec' });
});

test('paused clusters say so', (t) => {
  const s = computeStatus({
    cluster: aCluster({ paused: true }),
    pods: [],
    desiredRevision: 'r1',
    specErrors: [],
    formed: false,
    now,
  });
  t.is(s.phase, 'Paused');
});

test('lastTransitionTime moves only when a condition changes status', (t) => {
  const first = mergeConditions(undefined, [{ type: 'Available', status: 'True', reason: 'A', message: 'a' }], 1, now);
  const same = mergeConditions(first, [{ type: 'Available', status: 'True', reason: 'B', message: 'b' }], 2, later);
  t.is(same[0]?.lastTransitionTime, now.toISOString());
  t.is(same[0]?.reason, 'B');
  t.is(same[0]?.observedGeneration, 2);
  const flipped = mergeConditions(same, [{ type: 'Available', status: 'False', reason: 'C', message: 'c' }], 2, later);
  t.is(flipped[0]?.lastTransitionTime, later.toISOString());
});

test('the same observations give the same status (so an unchanged cluster needs no status write)', (t) => {
  const pods = [aPod(0), aPod(1), aPod(2)];
  const first = status(pods);
  t.deepEqual(status(pods, first), first);
});

/**
 * Ensembles as client traffic leaves them: every reading the same but the zxid counters. The
 * status must come out byte for byte the same, so a busy healthy cluster is never written.
 */
interface EnsembleShape {
  name: string;
  size: number;
  leader: number;
  /** Members that answer nothing (their pod runs, the process does not). */
  down?: number[];
  /** A member that serves as a follower outside the committed config (a joiner). */
  joiner?: number;
  /** Pods on an older revision (a roll under way). */
  outdated?: number[];
  /** The phase it shows: the shape is what its name says. */
  phase: string;
}

const shapes: EnsembleShape[] = [
  { name: 'a healthy 3-member ensemble', size: 3, leader: 3, phase: 'Running' },
  { name: 'a healthy 5-member ensemble led by server 2', size: 5, leader: 2, phase: 'Running' },
  { name: 'a 3-member ensemble with a follower down', size: 3, leader: 3, down: [1], phase: 'Degraded' },
  { name: 'a 3-member ensemble with a joiner syncing as server 4', size: 4, leader: 3, joiner: 4, phase: 'Scaling' },
  { name: 'a roll under way with the leader outdated', size: 3, leader: 2, outdated: [2], phase: 'Restarting' },
];

/** Each member's reading of `shape`, member i at zxid counter `counters[i]` in epoch 1. */
function readingsOf(shape: EnsembleShape, counters: readonly number[]) {
  const voters = Array.from({ length: shape.size }, (_, i) => i + 1).filter((id) => id !== shape.joiner);
  const committed: ConfReading = {
    serverId: 0,
    members: voters.map((myid) => ({ myid, host: `example-${myid - 1}`, role: 'participant' as const })),
    configVersion: '100000000',
  };
  const down = shape.down ?? [];
  return Array.from({ length: shape.size }, (_, i) => {
    const myid = i + 1;
    const base = { pod: `example-${i}`, myid };
    if (down.includes(myid)) return { ...base, unreachable: 'connection refused' };
    const isLeader = myid === shape.leader;
    const zxid = `0x1${(counters[i] ?? 0).toString(16).padStart(8, '0')}`;
    return {
      ...base,
      srvr: { version: '3.9.4', mode: isLeader ? ('leader' as const) : ('follower' as const), zxid, epoch: 1 },
      mntr: isLeader
        ? {
            serverState: 'leader',
            peerState: 'leading - broadcast',
            quorumSize: voters.length,
            syncedFollowers: shape.size - 1 - down.length,
            syncedNonVotingFollowers: shape.joiner === undefined ? 0 : 1,
          }
        : { serverState: 'follower', peerState: 'following - broadcast' },
      conf: { ...committed, serverId: myid },
    };
  });
}

function statusOf(shape: EnsembleShape, counters: readonly number[], previous?: ZooKeeperClusterStatus) {
  const pods = Array.from({ length: shape.size }, (_, i) =>
    aPod(i, (shape.outdated ?? []).includes(i + 1) ? { revision: 'r0' } : {}),
  );
  const health = assessEnsemble(readingsOf(shape, counters));
  const roll = (shape.outdated ?? []).length
    ? {
        kind: 'wait' as const,
        stalled: false,
        reason: { code: 'WaitingForSync', message: 'waiting for example-0 to sync' },
      }
    : undefined;
  return computeStatus({
    cluster: { ...aCluster({ replicas: shape.size }), ...(previous ? { status: previous } : {}) },
    pods,
    desiredRevision: 'r1',
    specErrors: [],
    health,
    formed: true,
    now,
    ...(roll ? { roll } : {}),
    ...(shape.joiner === undefined
      ? {}
      : {
          scaling: {
            kind: 'wait' as const,
            stalled: false,
            reason: { code: 'WaitingForJoiner', message: 'waiting for example-3 to sync' },
          },
        }),
  });
}

const counters = (size: number) => fc.array(fc.nat({ max: 0xffffffff }), { minLength: size, maxLength: size });

for (const shape of shapes) {
  test(`${shape.name}: readings that differ only in zxid give a byte-identical status`, (t) => {
    t.is(statusOf(shape, Array(shape.size).fill(1)).phase, shape.phase);
    t.notThrows(() =>
      fc.assert(
        fc.property(counters(shape.size), counters(shape.size), (before, after) => {
          const first = statusOf(shape, before);
          // As the reconciler compares: the stored status against the one computed next.
          const next = statusOf(shape, after, first);
          return (
            canonicalJson(next) === canonicalJson(first) &&
            canonicalJson(statusOf(shape, after)) === canonicalJson(first)
          );
        }),
      ),
    );
  });
}

test('the status carries no zxid, not even under another name', (t) => {
  const shape = shapes[0] as EnsembleShape;
  const s = statusOf(shape, [0xabcde1, 0xabcde2, 0xabcde3]);
  t.false(/zxid|abcde/i.test(JSON.stringify(s)), JSON.stringify(s));
  for (const member of s.members ?? [])
    t.deepEqual(Object.keys(member).sort(), ['myid', 'pod', 'role', 'serving', 'synced', 'voting']);
});
