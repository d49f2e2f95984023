import test from 'ava';
import fc from 'fast-check';
import { describeMove, type MoveInput, type MoveStep, nextMoveStep } from '../../../src/controller/member-move.js';
import { assessEnsemble, type MemberReading } from '../../../src/zookeeper/health.js';
import { type ConfigMember, parseServerLine, sameServerLine } from '../../../src/zookeeper/reconfig-client.js';
import { aServingVoter } from '../../support/builders.js';

interface Ports {
  client: number;
  quorum: number;
  election: number;
  domain: string;
}

const OLD: Ports = { client: 2181, quorum: 2888, election: 3888, domain: 'cluster.local' };
const NEW: Ports = { client: 2281, quorum: 2889, election: 3889, domain: 'cluster.local' };

const lineOf = (myid: number, p: Ports): ConfigMember =>
  parseServerLine(
    `server.${myid}=zk-${myid - 1}.zk-headless.default.svc.${p.domain}:${p.quorum}:${p.election}:participant;0.0.0.0:${p.client}`,
  );

interface Scenario {
  size: number;
  /** Server id of the leader; undefined: no leader. */
  leader: number | undefined;
  /** Members whose committed line is already the new one. */
  moved?: number[];
  /** Members whose pods run the old revision (default: none, every pod restarted). */
  notRestarted?: number[];
  /** Not serving (down, or not yet rebound after its move). */
  down?: number[];
  /** Serving but still syncing with the leader. */
  syncing?: number[];
  scaling?: boolean;
  paused?: boolean;
  /** The members disagree on the config version. */
  versionMismatch?: boolean;
  /** No member answered with the config. */
  configUnknown?: boolean;
  target?: Ports;
}

/** Health from assessEnsemble over readings shaped like ZooKeeper's. */
function moveInput(s: Scenario): MoveInput {
  const ids = Array.from({ length: s.size }, (_, i) => i + 1);
  const has = (list: number[] | undefined, id: number) => list?.includes(id) ?? false;
  const committed = ids.map((myid) => lineOf(myid, has(s.moved, myid) ? (s.target ?? NEW) : OLD));
  const serving = ids.filter((id) => !has(s.down, id));
  const leaderServes = s.leader !== undefined && serving.includes(s.leader);
  const readings: MemberReading[] = ids.map((myid) => {
    const pod = `zk-${myid - 1}`;
    if (!serving.includes(myid)) return { pod, myid, unreachable: 'connection refused' };
    if (!leaderServes) return { pod, myid };
    const configVersion = s.versionMismatch && myid === 1 ? '100000001' : '100000002';
    return aServingVoter({
      pod,
      myid,
      syncing: has(s.syncing, myid),
      conf: {
        serverId: myid,
        members: committed.map((m) => ({ myid: m.myid, host: m.host, role: m.role })),
        configVersion,
      },
      ...(myid === s.leader
        ? {
            leads: {
              quorumSize: s.size,
              syncedFollowers: serving.filter((id) => id !== s.leader && !has(s.syncing, id)).length,
            },
          }
        : {}),
    });
  });
  return {
    committed: s.configUnknown ? undefined : { members: committed, version: '100000002' },
    desired: new Map(ids.map((myid) => [myid, lineOf(myid, s.target ?? NEW)])),
    health: assessEnsemble(readings),
    restarted: new Set(ids.filter((id) => !has(s.notRestarted, id))),
    scaling: s.scaling ?? false,
    paused: s.paused ?? false,
  };
}

const summary = (step: MoveStep): string =>
  step.kind === 'move' ? `move ${step.myid}` : step.kind === 'wait' ? `wait ${step.reason.code}` : 'done';

const cases: { name: string; scenario: Scenario; expect: string }[] = [
  {
    name: 'every member on its desired line: done',
    scenario: { size: 3, leader: 2, moved: [1, 2, 3] },
    expect: 'done',
  },
  { name: 'followers move first, lowest id first', scenario: { size: 3, leader: 1 }, expect: 'move 2' },
  { name: 'the next follower after one has moved', scenario: { size: 3, leader: 1, moved: [2] }, expect: 'move 3' },
  { name: 'the leader moves last', scenario: { size: 3, leader: 1, moved: [2, 3] }, expect: 'move 1' },
  {
    name: 'a moved member that has not rebound yet is waited for',
    scenario: { size: 3, leader: 1, moved: [2], down: [2] },
    expect: 'wait WaitingForSync',
  },
  {
    name: 'a member still syncing is waited for, even in an ensemble with a spare',
    scenario: { size: 5, leader: 5, moved: [1], syncing: [1] },
    expect: 'wait WaitingForSync',
  },
  {
    name: 'a down member that is not to move still blocks the next move',
    scenario: { size: 5, leader: 5, moved: [1, 2], down: [1] },
    expect: 'wait WaitingForSync',
  },
  { name: 'no leader: no move', scenario: { size: 3, leader: undefined }, expect: 'wait NoQuorum' },
  { name: 'no quorum: no move', scenario: { size: 3, leader: 1, down: [2, 3] }, expect: 'wait NoQuorum' },
  { name: 'scaling goes first', scenario: { size: 3, leader: 1, scaling: true }, expect: 'wait MoveWaitsForScaling' },
  { name: 'paused', scenario: { size: 3, leader: 1, paused: true }, expect: 'wait Paused' },
  {
    name: 'members that disagree on the config version are not moved',
    scenario: { size: 3, leader: 2, versionMismatch: true },
    expect: 'wait ConfigVersionMismatch',
  },
  {
    name: 'no committed config: no move',
    scenario: { size: 3, leader: 1, configUnknown: true },
    expect: 'wait ConfigUnknown',
  },
  {
    name: 'paused with nothing to move is still done',
    scenario: { size: 3, leader: 1, moved: [1, 2, 3], paused: true },
    expect: 'done',
  },
  {
    name: 'only members whose pods run the new revision move, the leader too when it is the only one',
    scenario: { size: 3, leader: 1, notRestarted: [2, 3] },
    expect: 'move 1',
  },
  {
    name: 'nothing restarted yet: the roll goes first',
    scenario: { size: 3, leader: 1, notRestarted: [1, 2, 3] },
    expect: 'wait WaitingForRestart',
  },
  {
    name: 'the restarted follower moves before the restarted leader',
    scenario: { size: 5, leader: 4, notRestarted: [1, 2], moved: [5] },
    expect: 'move 3',
  },
  { name: 'a one-member ensemble moves its only member', scenario: { size: 1, leader: 1 }, expect: 'move 1' },
];

for (const c of cases) {
  test(`move plan: ${c.name}`, (t) => {
    t.is(summary(nextMoveStep(moveInput(c.scenario))), c.expect);
  });
}

test('a move names the member, the pod and every address that changes, and is conditional on the version read', (t) => {
  const step = nextMoveStep(moveInput({ size: 3, leader: 1 }));
  if (step.kind !== 'move') return t.fail(summary(step));
  t.is(step.fromVersion, '100000002');
  t.is(step.serverLine, lineOf(2, NEW).line);
  t.is(step.reason.code, 'MovingMember');
  t.is(
    step.reason.message,
    'moving member 2 (zk-1) by reconfig: client port 2181 -> 2281, quorum port 2888 -> 2889, election port 3888 -> 3889; 2 more to move after it, the leader last',
  );
});

test('moving the leader says it goes last and costs one election', (t) => {
  const step = nextMoveStep(moveInput({ size: 3, leader: 1, moved: [2, 3] }));
  if (step.kind !== 'move') return t.fail(summary(step));
  t.is(step.reason.code, 'MovingLeader');
  t.regex(step.reason.message, /it leads, so it goes last and the followers elect a leader once/);
});

test('a new cluster domain is a host change', (t) => {
  const target = { ...OLD, domain: 'example.org' };
  t.is(
    describeMove(lineOf(1, OLD), lineOf(1, target)),
    'host zk-0.zk-headless.default.svc.cluster.local -> zk-0.zk-headless.default.svc.example.org',
  );
});

test('a line ZooKeeper prints with an explicit client address is the same line', (t) => {
  const rendered = parseServerLine('server.1=zk-0:2888:3888:participant;0.0.0.0:2181');
  t.true(sameServerLine(rendered, parseServerLine('server.1=zk-0:2888:3888;2181')));
  t.false(sameServerLine(rendered, parseServerLine('server.1=zk-0:2888:3888:participant;0.0.0.0:2281')));
});

const scenarioArb = fc.integer({ min: 1, max: 7 }).chain((size) => {
  const id = fc.integer({ min: 1, max: size });
  const ids = fc.uniqueArray(id, { maxLength: size });
  return fc.record({
    size: fc.constant(size),
    leader: fc.option(id, { nil: undefined }),
    moved: ids,
    down: ids,
    syncing: ids,
    notRestarted: ids,
    scaling: fc.boolean(),
    paused: fc.boolean(),
  });
});

test('property: a move changes one member to exactly its desired line, from the version read, only when every voter is synced', (t) => {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const input = moveInput(s);
      const step = nextMoveStep(input);
      if (step.kind !== 'move') return true;
      const everyVoterSynced = input.health.members.every((m) => m.synced);
      return (
        !s.scaling &&
        !s.paused &&
        everyVoterSynced &&
        input.health.fullySynced &&
        step.serverLine === input.desired.get(step.myid)?.line &&
        step.fromVersion === input.committed?.version &&
        !(s.moved ?? []).includes(step.myid) &&
        input.restarted.has(step.myid)
      );
    }),
  );
  t.pass();
});

test('property: the leader moves only when no restarted follower is left to move', (t) => {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const step = nextMoveStep(moveInput(s));
      if (step.kind !== 'move' || step.myid !== s.leader) return true;
      const movable = Array.from({ length: s.size }, (_, i) => i + 1).filter(
        (id) => !(s.moved ?? []).includes(id) && !(s.notRestarted ?? []).includes(id),
      );
      return movable.length === 1 && movable[0] === s.leader;
    }),
  );
  t.pass();
});

/**
 * A simulated ensemble: each move commits the new line; a follower keeps its place, the leader's
 * move hands leadership to another member (an election). Re-targeted at a random step to a new
 * set of ports, it still ends with every member on the last target, one move per step.
 */
test('property: a healthy ensemble converges one member per step, re-targeted or not, with at most one election per target', (t) => {
  const portsArb = fc.record({
    client: fc.integer({ min: 1000, max: 1999 }),
    quorum: fc.integer({ min: 2000, max: 2999 }),
    election: fc.integer({ min: 3000, max: 3999 }),
    domain: fc.constantFrom('cluster.local', 'example.org'),
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 7 }),
      portsArb,
      portsArb,
      fc.integer({ min: 0, max: 7 }),
      (size, leaderSeed, first, second, retargetAfter) => {
        let leader = ((leaderSeed - 1) % size) + 1;
        const committed = new Map(Array.from({ length: size }, (_, i) => [i + 1, lineOf(i + 1, OLD)]));
        let version = 0x100000002;
        let target = first;
        let elections = 0;
        for (let step = 0; step < 4 * size + 2; step++) {
          if (step === retargetAfter) target = second;
          const input = moveInput({ size, leader });
          const members = [...committed.values()];
          const plan = nextMoveStep({
            ...input,
            committed: { members, version: version.toString(16) },
            desired: new Map(members.map((m) => [m.myid, lineOf(m.myid, target)])),
          });
          if (plan.kind === 'done') {
            return [...committed.values()].every((m) => sameServerLine(m, lineOf(m.myid, target))) && elections <= 2;
          }
          if (plan.kind !== 'move') return false;
          committed.set(plan.myid, parseServerLine(plan.serverLine));
          version++;
          if (plan.myid === leader) {
            elections++;
            leader = (leader % size) + 1;
          }
        }
        return false;
      },
    ),
  );
  t.pass();
});
