/**
 * `decide` over generated snapshots: what it may and may not depend on, and the order of its
 * planners. The reconciler tests cover the same decisions through the shell, with exact writes.
 */
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import fc from 'fast-check';
import { REVISION_ANNOTATION } from '../../../src/api/constants.js';
import { resolveSpec } from '../../../src/api/defaults.js';
import type { ZooKeeperCluster, ZooKeeperClusterStatus } from '../../../src/api/types.js';
import { changesEnsemble, decide, type Step } from '../../../src/controller/decide.js';
import { FORMED_ANNOTATION } from '../../../src/controller/formation.js';
import type { ClusterSnapshot } from '../../../src/controller/snapshot.js';
import { renderCluster } from '../../../src/render/cluster.js';
import { assessEnsemble, type MemberReading } from '../../../src/zookeeper/health.js';
import { aCluster } from '../../support/builders.js';

type MemberState = 'down' | 'follower' | 'leader';

interface World {
  replicas: number;
  desiredReplicas: number;
  states: MemberState[];
  outdated: boolean[];
  annotatedClaims: boolean[];
  paused: boolean;
  withStatefulSet: boolean;
}

const NOW = new Date('2026-12-02T05:00:00Z');

/** ZooKeeper's answers for members in these states; a single leader is the highest one leading. */
function readings(states: readonly MemberState[]): MemberReading[] {
  const leader = states.lastIndexOf('leader') + 1;
  const ids = states.map((_, ordinal) => ordinal + 1);
  const conf = {
    serverId: 0,
    members: ids.map((myid) => ({ myid, host: `example-${myid - 1}`, role: 'participant' as const })),
    configVersion: '100000000',
  };
  return states.map((state, ordinal) => {
    const myid = ordinal + 1;
    const pod = `example-${ordinal}`;
    if (state === 'down' || leader === 0) return { pod, myid };
    const leads = myid === leader;
    const up = states.filter((s) => s !== 'down').length;
    return {
      pod,
      myid,
      srvr: { version: '3.9.4', mode: leads ? 'leader' : 'follower', zxid: '0x100000005', epoch: 1 },
      mntr: leads
        ? {
            serverState: 'leader',
            peerState: 'leading - broadcast',
            quorumSize: states.length,
            syncedFollowers: up - 1,
            syncedNonVotingFollowers: 0,
          }
        : { serverState: 'follower', peerState: 'following - broadcast' },
      conf: { ...conf, serverId: myid },
    };
  });
}

function snapshotOf(world: World): ClusterSnapshot {
  const cluster = aCluster({ replicas: world.desiredReplicas, paused: world.paused });
  cluster.metadata.creationTimestamp = new Date('2026-12-01T00:00:00Z');
  const running = aCluster({ replicas: world.replicas });
  const current = renderCluster({ cluster: running, bootstrap: false });
  const pods: V1Pod[] = world.states.map((state, ordinal) => ({
    metadata: {
      name: `example-${ordinal}`,
      uid: `uid-${ordinal}`,
      annotations: { [REVISION_ANNOTATION]: world.outdated[ordinal] ? 'an-old-revision' : current.revision },
      creationTimestamp: new Date('2026-12-01T01:00:00Z'),
    },
    status: {
      podIP: `10.0.0.${ordinal + 1}`,
      conditions: [{ type: 'Ready', status: state === 'down' ? 'False' : 'True' }],
    },
  }));
  const claims: V1PersistentVolumeClaim[] = world.states.map((_, ordinal) => ({
    metadata: {
      name: `data-example-${ordinal}`,
      creationTimestamp: new Date('2026-12-01T01:00:00Z'),
      ...(world.annotatedClaims[ordinal] ? { annotations: { [FORMED_ANNOTATION]: '100000000' } } : {}),
    },
    spec: { resources: { requests: { storage: '10Gi' } } },
    status: { phase: 'Bound', capacity: { storage: '10Gi' } },
  }));
  return {
    cluster,
    spec: resolveSpec(cluster.spec),
    live: {
      configMap: current.configMap,
      headlessService: current.headlessService,
      clientService: current.clientService,
      podDisruptionBudget: current.podDisruptionBudget,
      ...(world.withStatefulSet ? { statefulSet: current.statefulSet } : {}),
    },
    pods,
    claims,
    health: assessEnsemble(readings(world.states)),
    now: NOW,
  };
}

const arbitraryWorld: fc.Arbitrary<World> = fc.integer({ min: 1, max: 5 }).chain((replicas) =>
  fc.record({
    replicas: fc.constant(replicas),
    desiredReplicas: fc.integer({ min: 1, max: 6 }),
    states: fc.array(fc.constantFrom<MemberState>('down', 'follower', 'leader'), {
      minLength: replicas,
      maxLength: replicas,
    }),
    outdated: fc.array(fc.boolean(), { minLength: replicas, maxLength: replicas }),
    annotatedClaims: fc.array(fc.boolean(), { minLength: replicas, maxLength: replicas }),
    paused: fc.boolean(),
    withStatefulSet: fc.boolean(),
  }),
);

/** Statuses a cluster may carry: right, stale, wrong, or empty after a re-create or a restore. */
const arbitraryStatus: fc.Arbitrary<ZooKeeperClusterStatus | undefined> = fc.option(
  fc.record(
    {
      phase: fc.constantFrom('Creating', 'Running', 'Scaling', 'Upgrading', 'Unavailable', 'Paused'),
      replicas: fc.integer({ min: 0, max: 7 }),
      readyReplicas: fc.integer({ min: 0, max: 7 }),
      configVersion: fc.constantFrom('100000000', '200000003'),
      currentRevision: fc.constantFrom('an-old-revision', 'another'),
      quorum: fc.record({
        size: fc.integer({ min: 0, max: 7 }),
        syncedVoters: fc.integer({ min: 0, max: 7 }),
        faultTolerance: fc.integer({ min: -3, max: 3 }),
      }),
      conditions: fc.constant([
        {
          type: 'Available',
          status: 'True' as const,
          lastTransitionTime: '2026-12-01T00:00:00Z',
          reason: 'QuorumSynced',
          message: 'stale',
        },
      ]),
      operation: fc.constant({ kind: 'ScaleUp' as const, member: 'example-3' }),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const withStatus = (cluster: ZooKeeperCluster, status: ZooKeeperClusterStatus | undefined): ZooKeeperCluster => {
  const { status: _previous, ...rest } = cluster;
  return status === undefined ? rest : { ...rest, status };
};

test('property: the resource’s own status never changes a decision', (t) => {
  fc.assert(
    fc.property(arbitraryWorld, arbitraryStatus, (world, status) => {
      const snapshot = snapshotOf(world);
      const told = { ...snapshot, cluster: withStatus(snapshot.cluster, status) };
      const bare = decide(snapshot);
      const withStory = decide(told);
      // The rendered objects carry the cluster only through names and the owner reference.
      t.deepEqual(withStory.step, bare.step);
      t.deepEqual(withStory.membership, bare.membership);
      t.deepEqual(withStory.formation, bare.formation);
      t.deepEqual(withStory.changes, bare.changes);
      t.is(withStory.desired.revision, bare.desired.revision);
    }),
    { numRuns: 150 },
  );
});

test('property: the same snapshot gives the same decision, byte for byte', (t) => {
  fc.assert(
    fc.property(arbitraryWorld, (world) => {
      t.is(JSON.stringify(decide(snapshotOf(world))), JSON.stringify(decide(snapshotOf(world))));
    }),
    { numRuns: 100 },
  );
});

test('property: at most one step, and only a restart or a membership change asks for fresh readings', (t) => {
  fc.assert(
    fc.property(arbitraryWorld, (world) => {
      const { step } = decide(snapshotOf(world));
      const ensembleChange =
        (step.kind === 'scale' && !['done', 'wait'].includes(step.step.kind)) ||
        step.kind === 'move' ||
        (step.kind === 'roll' && step.step.kind === 'restart');
      t.is(changesEnsemble(step), ensembleChange);
      // A formed cluster whose members cannot form a quorum takes no step that changes it.
      if (snapshotOf(world).health?.available === false) t.false(changesEnsemble(step), JSON.stringify(step));
    }),
    { numRuns: 150 },
  );
});

const healthy = (replicas: number): World => ({
  replicas,
  desiredReplicas: replicas,
  states: Array.from({ length: replicas }, (_, i) => (i === replicas - 1 ? 'leader' : 'follower')),
  outdated: Array.from({ length: replicas }, () => false),
  annotatedClaims: Array.from({ length: replicas }, () => true),
  paused: false,
  withStatefulSet: true,
});

const stepKind = (step: Step) => `${step.kind}:${step.kind === 'none' ? '' : step.step.kind}`;

const order: [string, World, string][] = [
  ['settled: storage is the only planner left, and it has nothing to do', healthy(3), 'growVolumes:done'],
  ['an outdated follower: the roll restarts it', { ...healthy(3), outdated: [true, false, false] }, 'roll:restart'],
  [
    'more voters wanted while a member is outdated: scaling goes first, one pod more',
    { ...healthy(3), desiredReplicas: 4, outdated: [true, false, false] },
    'scale:raisePodCount',
  ],
  [
    'fewer voters wanted: the highest id leaves the config first',
    { ...healthy(3), desiredReplicas: 2 },
    'scale:removeMember',
  ],
  [
    'no quorum: scaling waits, nothing changes the ensemble',
    { ...healthy(3), desiredReplicas: 4, states: ['down', 'down', 'leader'] },
    'scale:wait',
  ],
  ['paused: the roll waits', { ...healthy(3), paused: true, outdated: [true, true, true] }, 'roll:wait'],
];

for (const [title, world, expected] of order) {
  test(`step order: ${title}`, (t) => {
    t.is(stepKind(decide(snapshotOf(world)).step), expected);
  });
}

test('a formed ensemble re-created with an empty status still renders members that must sync, not bootstrap', (t) => {
  const snapshot = snapshotOf({ ...healthy(3), states: ['down', 'down', 'down'] });
  const decision = decide({ ...snapshot, cluster: withStatus(snapshot.cluster, undefined) });
  t.true(decision.formation.formed, 'the marked claims are the evidence');
  t.is(decision.desired.configMap.data?.bootstrap, 'false');
});

/**
 * A port change under way: spec asks for new ports, ZooKeeper's committed lines (`moved` aside)
 * still name the old ones, and the pods in `restarted` run the new revision.
 */
function portChangeSnapshot(restarted: number[], moved: number[]): ClusterSnapshot {
  const ports = { client: 2281, quorum: 2889, election: 3889 };
  const base = snapshotOf(healthy(3));
  const cluster = aCluster({ replicas: 3, ports });
  cluster.metadata.creationTimestamp = new Date('2026-12-01T00:00:00Z');
  const revision = renderCluster({ cluster, bootstrap: false }).revision;
  const line = (myid: number) => {
    const [client, quorum, election] = moved.includes(myid) ? [2281, 2889, 3889] : [2181, 2888, 3888];
    return `server.${myid}=example-${myid - 1}.example-headless.default.svc.cluster.local:${quorum}:${election}:participant;0.0.0.0:${client}`;
  };
  const members = [1, 2, 3].map((myid) => ({
    myid,
    host: `example-${myid - 1}.example-headless.default.svc.cluster.local`,
    role: 'participant' as const,
    line: line(myid),
  }));
  const health = assessEnsemble(
    readings(['follower', 'follower', 'leader']).map((r) => (r.conf ? { ...r, conf: { ...r.conf, members } } : r)),
  );
  const pods = base.pods.map((pod, ordinal) =>
    restarted.includes(ordinal + 1)
      ? { ...pod, metadata: { ...pod.metadata, annotations: { [REVISION_ANNOTATION]: revision } } }
      : pod,
  );
  return { ...base, cluster, spec: resolveSpec(cluster.spec), pods, health };
}

test('new ports: the roll restarts a follower first; nothing moves before its pod runs the new revision', (t) => {
  const decision = decide(portChangeSnapshot([], []));
  t.is(stepKind(decision.step), 'roll:restart');
  t.is(decision.move?.kind === 'wait' ? decision.move.reason.code : decision.move?.kind, 'WaitingForRestart');
  t.is(
    decision.desired.configMap.data?.['zoo.cfg.dynamic']?.split('\n').filter((l) => l.includes(':2888:3888:')).length,
    3,
    'every member starts on its committed line until it moved',
  );
});

test('new ports: the member the roll restarted moves before anything else, by one reconfig', (t) => {
  const { step } = decide(portChangeSnapshot([2], []));
  t.is(stepKind(step), 'move:move');
  t.true(changesEnsemble(step));
  if (step.kind === 'move' && step.step.kind === 'move') t.is(step.step.myid, 2);
});

test('new ports: once it moved, the roll goes on, and the client Service keeps the old port for the others', (t) => {
  const decision = decide(portChangeSnapshot([2], [2]));
  t.is(stepKind(decision.step), 'roll:restart');
  t.deepEqual(
    decision.desired.clientService.spec?.ports?.map((p) => p.port),
    [2281, 2181],
  );
});
