import test from 'ava';
import fc from 'fast-check';
import {
  afterEviction,
  type EvictionOutcome,
  type MemberPod,
  nextRollStep,
  type RestartStep,
  type RollInput,
} from '../../../src/controller/rolling-restart.js';
import { assessEnsemble, type MemberReading, majorityOf } from '../../../src/zookeeper/health.js';
import { aServingVoter } from '../../support/builders.js';

interface Scenario {
  size: number;
  /** Server id of the leader; undefined: no leader. */
  leader: number | undefined;
  outdated?: number[];
  /** Not reachable (process down). */
  down?: number[];
  /** Crash-looping pods (also down). */
  stuck?: number[];
  /** Serving and Ready, but its answer to the operator's read timed out. */
  slowToAnswer?: number[];
  /** Serving but still syncing with the leader. */
  syncing?: number[];
  /** Paused (a long GC): synced in the leader's count, but neither answering nor Ready. */
  frozen?: number[];
  missing?: number[];
  /** Their container was restarted in place (a crash, an OOM kill); down while also in `down` or `stuck`. */
  restartedInPlace?: number[];
  paused?: boolean;
  /** Seconds since the youngest pod was created. */
  podAgeSeconds?: number;
}

const now = new Date('2026-11-25T12:00:00Z');

/** A RollInput whose health comes from assessEnsemble over readings shaped like ZooKeeper's. */
function rollInput(s: Scenario): RollInput {
  const ids = Array.from({ length: s.size }, (_, i) => i + 1);
  const has = (list: number[] | undefined, id: number) => list?.includes(id) ?? false;
  const present = ids.filter((id) => !has(s.missing, id));
  const serving = present.filter((id) => !has(s.down, id) && !has(s.stuck, id));
  const leaderServes = s.leader !== undefined && serving.includes(s.leader);
  const conf = {
    serverId: 0,
    members: ids.map((myid) => ({ myid, host: `zk-${myid - 1}`, role: 'participant' as const })),
    configVersion: '100000000',
  };
  const readings: MemberReading[] = present.map((myid) => {
    const pod = `zk-${myid - 1}`;
    if (has(s.slowToAnswer, myid) || has(s.frozen, myid)) {
      return { pod, myid, unreachable: '4lw srvr: no answer within 3000 ms' };
    }
    if (!serving.includes(myid) || !leaderServes) {
      return serving.includes(myid) ? { pod, myid } : { pod, myid, unreachable: 'connection refused' };
    }
    const syncedFollowers = serving.filter((id) => id !== s.leader && !has(s.syncing, id)).length;
    return aServingVoter({
      pod,
      myid,
      syncing: has(s.syncing, myid),
      conf: { ...conf, serverId: myid },
      ...(myid === s.leader ? { leads: { quorumSize: s.size, syncedFollowers } } : {}),
    });
  });
  const pods: MemberPod[] = present.map((myid) => ({
    name: `zk-${myid - 1}`,
    myid,
    revision: has(s.outdated, myid) ? 'old' : 'new',
    terminating: false,
    stuck: has(s.stuck, myid),
    restartedInPlace: has(s.restartedInPlace, myid),
    // The readiness probe passes for a serving member (slow answers to the operator aside).
    ready: serving.includes(myid) && leaderServes && !has(s.frozen, myid),
    createdAt: new Date(now.getTime() - (s.podAgeSeconds ?? 30) * 1000),
  }));
  return {
    desiredRevision: 'new',
    expectedMyids: ids,
    pods,
    health: assessEnsemble(readings),
    paused: s.paused ?? false,
    stepTimeoutMs: 600_000,
    now,
  };
}

const cases: { name: string; scenario: Scenario; expect: string }[] = [
  { name: 'nothing outdated', scenario: { size: 3, leader: 3 }, expect: 'done' },
  {
    name: 'a paused voter the leader still counts is not restarted when the majority rests on it',
    scenario: { size: 3, leader: 3, outdated: [1, 2, 3], down: [1], frozen: [2] },
    expect: 'wait LeaderCountsMember',
  },
  {
    name: 'a paused voter the leader still counts is restarted when a majority is left without it',
    scenario: { size: 5, leader: 5, outdated: [1, 2, 3, 4, 5], frozen: [2] },
    expect: 'restart zk-1',
  },
  {
    name: 'followers go first, highest id first',
    scenario: { size: 3, leader: 3, outdated: [1, 2, 3] },
    expect: 'restart zk-1',
  },
  { name: 'the leader goes last', scenario: { size: 3, leader: 3, outdated: [3] }, expect: 'restart zk-2' },
  {
    name: 'a leader with a low id still goes last',
    scenario: { size: 3, leader: 1, outdated: [1, 2, 3] },
    expect: 'restart zk-2',
  },
  { name: 'paused', scenario: { size: 3, leader: 3, outdated: [1], paused: true }, expect: 'wait Paused' },
  {
    name: 'a missing pod first comes back',
    scenario: { size: 3, leader: 3, outdated: [1], missing: [2] },
    expect: 'wait MemberMissing',
  },
  {
    name: 'a crash-looping outdated member is restarted first',
    scenario: { size: 3, leader: 3, outdated: [1, 2], stuck: [1] },
    expect: 'restart zk-0',
  },
  {
    name: 'a down outdated member is restarted first',
    scenario: { size: 5, leader: 5, outdated: [2, 4], down: [2] },
    expect: 'restart zk-1',
  },
  {
    name: 'a Ready member whose answer was slow is waited for, never taken for down',
    scenario: { size: 5, leader: 5, outdated: [1, 2, 3], slowToAnswer: [1] },
    expect: 'wait WaitingForSync',
  },
  {
    name: 'a healthy member waits while another is down',
    scenario: { size: 5, leader: 5, outdated: [4], down: [2] },
    expect: 'wait WaitingForSync',
  },
  {
    name: 'a restarted member still syncing holds the roll',
    scenario: { size: 3, leader: 3, outdated: [1], syncing: [2] },
    expect: 'wait WaitingForSync',
  },
  {
    name: 'a member stuck on the new revision past the timeout stalls the roll',
    scenario: { size: 3, leader: 3, outdated: [1], stuck: [2], podAgeSeconds: 900 },
    expect: 'wait RollStalled',
  },
  {
    name: 'no leader: nothing healthy is touched',
    scenario: { size: 3, leader: undefined, outdated: [1, 2, 3] },
    expect: 'wait NoQuorum',
  },
  {
    name: 'no quorum: stuck outdated members are still restarted (they are down anyway)',
    scenario: { size: 3, leader: undefined, outdated: [1, 2], stuck: [1, 2] },
    expect: 'restart zk-1',
  },
  {
    name: 'a down outdated member is not restarted onto a revision another member crash-loops on',
    scenario: { size: 3, leader: 3, outdated: [1, 3], stuck: [1, 2] },
    expect: 'wait DesiredRevisionFailing',
  },
  {
    name: 'nor while that member, between its crashes, runs without serving',
    scenario: { size: 3, leader: undefined, outdated: [1, 3], restartedInPlace: [1, 2], stuck: [1], down: [2] },
    expect: 'wait DesiredRevisionFailing',
  },
  {
    name: 'a member on the desired revision that was restarted in place and serves again holds nothing',
    scenario: { size: 3, leader: 3, outdated: [1, 3], stuck: [1], restartedInPlace: [2] },
    expect: 'restart zk-0',
  },
  {
    name: 'a single member restarts without redundancy',
    scenario: { size: 1, leader: 1, outdated: [1] },
    expect: 'restart zk-0',
  },
];

const describe = (input: RollInput) => {
  const step = nextRollStep(input);
  return step.kind === 'restart' ? `restart ${step.pod}` : step.kind === 'wait' ? `wait ${step.reason.code}` : 'done';
};

for (const c of cases) {
  test(`roll: ${c.name}`, (t) => {
    t.is(describe(rollInput(c.scenario)), c.expect);
  });
}

test('roll: a single member restart says the ensemble is unavailable meanwhile', (t) => {
  const step = nextRollStep(rollInput({ size: 1, leader: 1, outdated: [1] }));
  t.like(step, { kind: 'restart', reason: { code: 'RestartWithoutRedundancy' } });
});

const arbitraryScenario = fc.integer({ min: 1, max: 7 }).chain((size) => {
  const id = fc.integer({ min: 1, max: size });
  const ids = fc.uniqueArray(id, { maxLength: size });
  return fc.record({
    size: fc.constant(size),
    leader: fc.option(id, { nil: undefined }),
    outdated: ids,
    down: ids,
    stuck: ids,
    restartedInPlace: ids,
    syncing: ids,
    missing: fc.uniqueArray(id, { maxLength: 2 }),
  });
});

test('property: a serving voter is restarted only if the synced voters without it stay a majority', (t) => {
  fc.assert(
    fc.property(arbitraryScenario, (scenario) => {
      const input = rollInput(scenario);
      const step = nextRollStep(input);
      if (step.kind !== 'restart') return true;
      const member = input.health.members.find((m) => m.pod === step.pod);
      if (!member?.serving || !member.synced || input.health.quorumSize < 3) return true;
      return input.health.syncedVoters - 1 >= majorityOf(input.health.quorumSize);
    }),
    { numRuns: 2000 },
  );
  t.pass('fc.assert throws on a counterexample');
});

test('property: no down member is restarted onto the desired revision while a member fails on it', (t) => {
  fc.assert(
    fc.property(arbitraryScenario, (scenario) => {
      const input = rollInput(scenario);
      const step = nextRollStep(input);
      const failing = input.pods.some(
        (p) => p.revision === input.desiredRevision && !p.ready && (p.stuck || p.restartedInPlace),
      );
      return !failing || step.kind !== 'restart' || step.reason.code !== 'RestartingDownMember';
    }),
    { numRuns: 2000 },
  );
  t.pass('fc.assert throws on a counterexample');
});

test('property: nothing is restarted while a member pod is missing', (t) => {
  fc.assert(
    fc.property(arbitraryScenario, (scenario) => {
      const step = nextRollStep(rollInput(scenario));
      return scenario.missing.length === 0 || step.kind !== 'restart';
    }),
    { numRuns: 2000 },
  );
  t.pass('fc.assert throws on a counterexample');
});

test('property: the leader is restarted only when it is the last outdated member', (t) => {
  fc.assert(
    fc.property(arbitraryScenario, (scenario) => {
      const input = rollInput(scenario);
      const step = nextRollStep(input);
      if (step.kind !== 'restart' || step.pod !== input.health.leader?.pod) return true;
      return input.pods.filter((p) => p.revision !== input.desiredRevision).length === 1;
    }),
    { numRuns: 2000 },
  );
  t.pass('fc.assert throws on a counterexample');
});

test('property: a full roll of a healthy ensemble restarts each member once, the leader last', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), (size, leaderSeed) => {
      const leader = ((leaderSeed - 1) % size) + 1;
      let outdated = Array.from({ length: size }, (_, i) => i + 1);
      const restarted: string[] = [];
      for (let step = 0; step < 20 && outdated.length > 0; step++) {
        const next = nextRollStep(rollInput({ size, leader, outdated }));
        if (next.kind !== 'restart') return false;
        restarted.push(next.pod);
        // The member comes back synced on the new revision before the next reconcile.
        outdated = outdated.filter((id) => `zk-${id - 1}` !== next.pod);
      }
      return restarted.length === size && new Set(restarted).size === size && restarted.at(-1) === `zk-${leader - 1}`;
    }),
  );
  t.pass('fc.assert throws on a counterexample');
});

test('members whose grown volume waits for a remount take the roll path: followers first, the leader last', (t) => {
  const input = { ...rollInput({ size: 3, leader: 3 }), remount: ['zk-2', 'zk-0'] };
  const first = nextRollStep(input);
  t.like(first, { kind: 'restart', pod: 'zk-0', reason: { code: 'RestartingFollower' } });
  const last = nextRollStep({ ...input, remount: ['zk-2'] });
  t.like(last, { kind: 'restart', pod: 'zk-2', reason: { code: 'RestartingLeader' } });
  t.deepEqual(nextRollStep({ ...input, remount: [] }), { kind: 'done' });
  const paused = nextRollStep({ ...input, paused: true });
  t.like(paused, { kind: 'wait', reason: { code: 'Paused' } });
});

test('a stalled roll names what the kubelet says is wrong with the member it waits for', (t) => {
  const input = rollInput({ size: 3, leader: 3, outdated: [3], down: [2], podAgeSeconds: 700 });
  const pods = input.pods.map((pod) =>
    pod.name === 'zk-1' ? { ...pod, problem: 'ImagePullBackOff: Back-off pulling image "zookeeper:3.9.99"' } : pod,
  );
  const step = nextRollStep({ ...input, pods });
  t.like(step, {
    kind: 'wait',
    stalled: true,
    reason: {
      code: 'RollStalled',
      message:
        'waiting for zk-1 (ImagePullBackOff: Back-off pulling image "zookeeper:3.9.99") to serve and sync with the leader (more than 600 s; check the pod\'s logs and events)',
    },
  });
});

test('a serving member waits until every other member’s pod is Ready: the budget counts Ready pods only', (t) => {
  const input = rollInput({ size: 3, leader: 3, outdated: [1, 2, 3] });
  // ZooKeeper counts zk-0 synced, but its readiness probe has not passed again yet.
  const pods = input.pods.map((pod) => (pod.name === 'zk-0' ? { ...pod, ready: false } : pod));
  t.deepEqual(nextRollStep({ ...input, pods }), {
    kind: 'wait',
    stalled: false,
    reason: {
      code: 'WaitingForReadiness',
      message:
        'waiting for the pods of zk-0 to report Ready before restarting zk-1: the PodDisruptionBudget counts only Ready members',
    },
  });
  const long = nextRollStep({
    ...input,
    pods: pods.map((pod) => (pod.name === 'zk-0' ? { ...pod, revision: 'new' } : pod)),
    now: new Date(now.getTime() + 700_000),
  });
  t.like(long, { kind: 'wait', stalled: true, reason: { code: 'RollStalled' } });
});

test('the candidate’s own readiness does not hold it: evicting an unready pod costs the budget nothing', (t) => {
  const input = rollInput({ size: 3, leader: 3, outdated: [2] });
  const pods = input.pods.map((pod) => (pod.name === 'zk-1' ? { ...pod, ready: false } : pod));
  t.like(nextRollStep({ ...input, pods }), { kind: 'restart', pod: 'zk-1', reason: { code: 'RestartingFollower' } });
});

const restart: RestartStep = {
  kind: 'restart',
  pod: 'zk-1',
  reason: { code: 'RestartingFollower', message: 'restarting zk-1 (3 member(s) outdated; the leader zk-2 goes last)' },
};
const budget = { namespace: 'apps', name: 'zk' };
const answers: { outcome: EvictionOutcome; code: string; stalled: boolean; message: RegExp }[] = [
  {
    outcome: { kind: 'budgetRefused', detail: 'The disruption budget zk needs 2 healthy pods and has 2 currently' },
    code: 'DisruptionBudgetExhausted',
    stalled: false,
    message:
      /^restarting zk-1 waits: the PodDisruptionBudget zk allows no disruption now \(The disruption budget zk needs 2 healthy pods and has 2 currently\)\. .*once every member is back and Ready\. If it does not, see `kubectl -n apps get pdb zk`/,
  },
  {
    outcome: { kind: 'gone' },
    code: 'RestartTargetGone',
    stalled: false,
    message: /^zk-1 was deleted by someone else/,
  },
  {
    outcome: { kind: 'replaced' },
    code: 'RestartTargetReplaced',
    stalled: false,
    message: /^zk-1 was replaced by a new pod/,
  },
  {
    outcome: { kind: 'multipleBudgets' },
    code: 'MultipleDisruptionBudgets',
    stalled: true,
    message:
      /more than one PodDisruptionBudget selects it.*`kubectl -n apps get pdb` lists them; zk is the operator's own/,
  },
];
for (const c of answers) {
  test(`an eviction answered ${c.outcome.kind} makes the roll wait: ${c.code}`, (t) => {
    const step = afterEviction(restart, c.outcome, budget);
    t.like(step, { kind: 'wait', stalled: c.stalled, reason: { code: c.code } });
    t.regex(step.kind === 'wait' ? step.reason.message : '', c.message);
  });
}

test('an evicted pod is the restart itself', (t) => {
  t.is(afterEviction(restart, { kind: 'evicted' }, budget), restart);
});

const handOffCases: { name: string; scenario: Scenario; expect: string }[] = [
  {
    name: 'the leader is the last outdated member of 3',
    scenario: { size: 3, leader: 3, outdated: [3] },
    expect: 'handOff zk-2 (server 3) from 100000000',
  },
  {
    name: 'the leader is the last outdated member of 5',
    scenario: { size: 5, leader: 2, outdated: [2] },
    expect: 'handOff zk-1 (server 2) from 100000000',
  },
  {
    name: 'two voters: no spare, the leader restarts plainly',
    scenario: { size: 2, leader: 2, outdated: [2] },
    expect: 'restart zk-1',
  },
  { name: 'one voter: restarts plainly', scenario: { size: 1, leader: 1, outdated: [1] }, expect: 'restart zk-0' },
  {
    name: 'followers still outdated: they go first',
    scenario: { size: 3, leader: 3, outdated: [1, 3] },
    expect: 'restart zk-0',
  },
  {
    name: 'a follower still syncing: the hand-off waits',
    scenario: { size: 3, leader: 3, outdated: [3], syncing: [1] },
    expect: 'wait WaitingForSync',
  },
  {
    name: 'paused: nothing moves',
    scenario: { size: 3, leader: 3, outdated: [3], paused: true },
    expect: 'wait Paused',
  },
];
for (const c of handOffCases) {
  test(`leader hand-off: ${c.name}`, (t) => {
    const step = nextRollStep({ ...rollInput(c.scenario), leaderHandOff: true });
    const described =
      step.kind === 'handOff'
        ? `handOff ${step.pod} (server ${step.myid}) from ${step.fromVersion}`
        : step.kind === 'restart'
          ? `restart ${step.pod}`
          : step.kind === 'wait'
            ? `wait ${step.reason.code}`
            : 'done';
    t.is(described, c.expect);
  });
}

test('leader hand-off: says what it does, and is a Progressing step of the roll', (t) => {
  const step = nextRollStep({ ...rollInput({ size: 3, leader: 3, outdated: [3] }), leaderHandOff: true });
  t.like(step, {
    kind: 'handOff',
    reason: {
      code: 'HandingOffLeadership',
      message:
        'moving leadership away from zk-2 (server 3, the last outdated member) by removing it from config 100000000; it restarts as a joiner and is added back once synced',
    },
  });
});

test('property: a hand-off happens only where a plain restart of the leader would, with 3 or more voters all synced', (t) => {
  fc.assert(
    fc.property(arbitraryScenario, (scenario) => {
      const input = rollInput(scenario);
      const handOff = nextRollStep({ ...input, leaderHandOff: true });
      const plain = nextRollStep(input);
      if (handOff.kind !== 'handOff') return JSON.stringify(handOff) === JSON.stringify(plain);
      // Fault tolerance is never lower than the plain restart's: the same member leaves, and
      // every other voter serves in sync.
      const others = input.health.members.filter((m) => m.myid !== handOff.myid);
      return (
        plain.kind === 'restart' &&
        plain.pod === handOff.pod &&
        handOff.myid === input.health.leader?.myid &&
        input.health.quorumSize >= 3 &&
        others.every((m) => m.serving && m.synced)
      );
    }),
    { numRuns: 2000 },
  );
  t.pass('fc.assert throws on a counterexample');
});
