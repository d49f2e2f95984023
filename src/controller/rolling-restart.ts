/**
 * The rolling-restart planner: which member to restart next, or why not now. Pure.
 *
 * Rules (docs/operations.md explains them for users):
 * - one member at a time: nothing is restarted while a member pod is missing or terminating;
 * - members that are down already (crash-looping, not serving) and outdated go first: restarting
 *   them costs nothing; unless a member on the desired revision fails on it (not Ready, and
 *   crash-looping or restarted in place): then the desired revision may not run at all, and the
 *   down member may well come back by itself on its own revision (a container killed once, by
 *   the OOM killer, restarts in place), so it is left alone;
 * - a serving voter is restarted only when every other member serves and is synced, there is
 *   one leader, members agree on the config, and the synced voters without it remain a majority
 *   (ensembles of one or two voters have no spare: they restart anyway, and say so);
 * - followers before the leader, highest server id first, so observers (whose ids are above every
 *   voter's) before any voter; the leader only when it is the last outdated member (leadership is
 *   re-read before every step, so a moved leader still goes last);
 * - an observer never counts towards the quorum, so restarting one needs no spare voter; it still
 *   waits like any member until every other member serves in sync, and until the leader counts
 *   every committed observer synced (`zk_synced_observers`), so two observers are never down at once;
 * - a serving member waits, too, until every other member's pod reports Ready: the restart is an
 *   eviction, and the PodDisruptionBudget counts only Ready pods, so it would refuse it anyway.
 * A restart is an eviction (`afterEviction` says what each answer of the Eviction API means for
 * the roll): the PodDisruptionBudget arbitrates between the operator and anyone else evicting
 * members, such as a node drain, so between them they never take down two members.
 * "Outdated" also covers a member whose grown volume waits for its pod to mount it again
 * (`remount`): it takes the same path.
 * The planner keeps no state: the cluster (pod revisions and UIDs) and ZooKeeper's readings
 * say where a roll stands, so an operator restarted mid-roll continues exactly there.
 */
import { isObserverId } from '../render/names.js';
import { type EnsembleHealth, majorityOf } from '../zookeeper/health.js';

export interface MemberPod {
  name: string;
  myid: number;
  revision: string | undefined;
  /** Has a deletionTimestamp. */
  terminating: boolean;
  /** Waiting in CrashLoopBackOff, ErrImagePull, ImagePullBackOff or similar: down, not coming back by itself. */
  stuck: boolean;
  /** Its container has ended and been restarted in place since the pod was created (a crash, an OOM kill). */
  restartedInPlace: boolean;
  /** The pod's Ready condition (its readiness probe asks the member for a serving mode). */
  ready: boolean;
  /** When this pod object was created (the restart of the previous incarnation). */
  createdAt: Date;
  /** What the scheduler or kubelet says is wrong with it (`podProblem`), for messages. */
  problem?: string;
}

/** `name`, with what is wrong with it in parentheses when something is known. */
export const describePod = (pod: Pick<MemberPod, 'name' | 'problem'>): string =>
  pod.problem === undefined ? pod.name : `${pod.name} (${pod.problem})`;

export interface RollInput {
  desiredRevision: string;
  /** Pods to restart although on the desired revision: their grown volumes wait for a remount. */
  remount?: readonly string[];
  /** Server ids the cluster should have now (voters 1..pod count, then observers). */
  expectedMyids: readonly number[];
  pods: readonly MemberPod[];
  health: EnsembleHealth;
  paused: boolean;
  stepTimeoutMs: number;
  /** Move leadership away by reconfig instead of restarting the leader (`spec.rollingUpdate.leaderHandOff`); default off. */
  leaderHandOff?: boolean;
  now: Date;
}

export interface Reason {
  /** CamelCase, for conditions and Events. */
  code: string;
  message: string;
}

export type RollStep =
  | { kind: 'done' }
  | { kind: 'wait'; reason: Reason; stalled: boolean }
  | { kind: 'restart'; pod: string; reason: Reason }
  /**
   * `reconfig -remove <myid> -v <fromVersion>` of the leader `pod`: it hands leadership to a
   * synced follower and stays as a non-voting follower. The scaling planner then replaces it
   * (its template is outdated) and adds it back once it has synced.
   */
  | { kind: 'handOff'; pod: string; myid: number; fromVersion: string; reason: Reason };

export type RestartStep = Extract<RollStep, { kind: 'restart' }>;

/** What the Eviction API answered when the operator evicted a member to restart it. */
export type EvictionOutcome =
  | { kind: 'evicted' }
  /**
   * The PodDisruptionBudget allows no disruption now (HTTP 429): another member is down or being
   * evicted, or the budget's status is not current yet. `detail` is the API server's own words.
   */
  | { kind: 'budgetRefused'; detail: string }
  /** The pod no longer exists (404): someone else deleted or evicted it first. */
  | { kind: 'gone' }
  /** A pod of that name has another uid (409): the one meant was already replaced. */
  | { kind: 'replaced' }
  /** More than one PodDisruptionBudget selects the pod: the Eviction API refuses to evict it at all. */
  | { kind: 'multipleBudgets' };

/** Where the cluster's budget is, for messages a person can act on. */
export interface BudgetRef {
  namespace: string;
  name: string;
}

/**
 * The roll's step once the Eviction API has answered: the restart itself when the pod was
 * evicted, otherwise a wait with a reason of its own. Nothing here ever deletes the pod instead:
 * the budget's refusal is the point.
 */
export function afterEviction(step: RestartStep, outcome: EvictionOutcome, budget: BudgetRef): RollStep {
  switch (outcome.kind) {
    case 'evicted':
      return step;
    case 'budgetRefused':
      return wait(
        'DisruptionBudgetExhausted',
        `restarting ${step.pod} waits: the PodDisruptionBudget ${budget.name} allows no disruption now (${outcome.detail}). Another member is down or being evicted, e.g. by a node drain; the roll goes on by itself once every member is back and Ready. If it does not, see \`kubectl -n ${budget.namespace} get pdb ${budget.name}\` and which member pods are not Ready.`,
      );
    case 'gone':
      return wait(
        'RestartTargetGone',
        `${step.pod} was deleted by someone else (a node drain, or by hand) before the operator evicted it; the roll waits for its replacement`,
      );
    case 'replaced':
      return wait(
        'RestartTargetReplaced',
        `${step.pod} was replaced by a new pod before the operator evicted it; the roll looks at the new pod next`,
      );
    case 'multipleBudgets':
      return wait(
        'MultipleDisruptionBudgets',
        `the Eviction API refuses to evict ${step.pod}: more than one PodDisruptionBudget selects it, and an eviction needs exactly one. Delete the other budget, or narrow its selector so it no longer selects the members (\`kubectl -n ${budget.namespace} get pdb\` lists them; ${budget.name} is the operator's own)`,
        true,
      );
    default: {
      const unknown: never = outcome;
      throw new Error(`unknown eviction outcome ${JSON.stringify(unknown)}`);
    }
  }
}

const wait = (code: string, message: string, stalled = false): RollStep => ({
  kind: 'wait',
  reason: { code, message },
  stalled,
});

export function nextRollStep(input: RollInput): RollStep {
  const { desiredRevision, health } = input;
  const pods = [...input.pods].sort((a, b) => b.myid - a.myid);
  const memberOf = (pod: MemberPod) => health.members.find((m) => m.myid === pod.myid);
  const remount = input.remount ?? [];
  const outdated = pods.filter((p) => p.revision !== desiredRevision || remount.includes(p.name));
  // Down: stuck, or neither serving (as read now) nor Ready (as its probe says), while the
  // others have a quorum. Both views must agree: a healthy member whose answer was merely slow
  // is never taken for a broken one, and a member that does not serve because there is no
  // quorum (an election) is not "down".
  const down = (pod: MemberPod) => pod.stuck || (health.available && !(memberOf(pod)?.serving ?? false) && !pod.ready);
  if (outdated.length === 0) return { kind: 'done' };
  if (input.paused) {
    return wait('Paused', `spec.paused is set: ${outdated.length} member(s) wait for a restart`);
  }

  const missing = input.expectedMyids.filter((id) => !pods.some((p) => p.myid === id));
  const terminating = pods.filter((p) => p.terminating);
  if (missing.length > 0 || terminating.length > 0) {
    const names = [...terminating.map((p) => p.name), ...missing.map((id) => `server ${id}`)];
    return wait('MemberMissing', `waiting for member pods to be recreated: ${names.join(', ')}`);
  }

  // Down already: restarting it cannot reduce availability, and it may be what fixes it.
  const brokenOutdated = outdated.find(down);
  if (brokenOutdated !== undefined) {
    // Unless the desired revision has not shown that it runs: a member on it fails. Restarted
    // onto it, this member could fail too, and two members down cost a 3-member ensemble its quorum.
    const failing = pods.find((p) => !outdated.includes(p) && !p.ready && (p.stuck || p.restartedInPlace));
    if (failing !== undefined) {
      return wait(
        'DesiredRevisionFailing',
        `${describePod(brokenOutdated)} is down, but is not restarted onto the desired revision while ${describePod(failing)} fails on it: it could fail there too; waiting for ${failing.name} to serve, or for a spec it runs with`,
        waitedTooLong([failing], input),
      );
    }
    // Unless ZooKeeper disagrees: a voter that neither answers nor passes its probe may still be
    // synced in the leader's count (a long GC pause looks like that). When the leader counts more
    // synced voters than answer, and one fewer would cost the majority, it waits.
    const answering = health.members.filter((m) => m.voting && m.synced).length;
    const leaderMayCountIt =
      !brokenOutdated.stuck && (memberOf(brokenOutdated)?.voting ?? false) && health.syncedVoters > answering;
    if (leaderMayCountIt && health.syncedVoters - 1 < majorityOf(health.quorumSize)) {
      return wait(
        'LeaderCountsMember',
        `${describePod(brokenOutdated)} does not answer and is not Ready, but the leader counts ${health.syncedVoters} synced voters where ${answering} answer: it may only be paused (a long GC), and restarting it could leave ${health.syncedVoters - 1} of ${health.quorumSize}, below a quorum of ${majorityOf(health.quorumSize)}; waiting`,
      );
    }
    return {
      kind: 'restart',
      pod: brokenOutdated.name,
      reason: {
        code: 'RestartingDownMember',
        message: `restarting ${describePod(brokenOutdated)}: it is ${brokenOutdated.stuck ? 'stuck' : 'not serving'} and ${brokenOutdated.revision === desiredRevision ? 'its grown volume waits for a remount' : 'on an outdated revision'}`,
      },
    };
  }

  if (health.leader === undefined || !health.available) {
    return wait('NoQuorum', 'the ensemble has no leader with a synced majority; no member is restarted');
  }

  // Everyone else must be back in the ensemble before a serving member is touched.
  const notSynced = pods.filter((p) => !(memberOf(p)?.synced ?? false));
  if (notSynced.length > 0) {
    const stalled = waitedTooLong(notSynced, input);
    return wait(
      stalled ? 'RollStalled' : 'WaitingForSync',
      `waiting for ${notSynced.map(describePod).join(', ')} to serve and sync with the leader` +
        (stalled ? ` (more than ${Math.round(input.stepTimeoutMs / 1000)} s; check the pod's logs and events)` : ''),
      stalled,
    );
  }
  const blocking = health.anomalies.filter((a) => a.reason !== 'MemberNotInConfig');
  if (blocking.length > 0) {
    return wait(blocking[0]?.reason ?? 'Anomaly', blocking.map((a) => a.message).join('; '));
  }

  // An observer's own view (observing, in broadcast) is not the leader's: it may not be counted yet.
  const observerPods = pods.filter((p) => isObserverId(p.myid) && health.committedObservers.includes(p.myid));
  if (observerPods.length > health.syncedObservers) {
    return wait(
      'WaitingForObserverSync',
      `the leader counts ${health.syncedObservers} synced observer(s) of ${observerPods.length} (${observerPods.map((p) => p.name).join(', ')}); waiting before the next restart`,
    );
  }

  const leader = health.leader;
  if (leader === undefined) return wait('NoQuorum', 'the ensemble has no leader; no member is restarted');
  const leaderMyid = leader.myid;
  const candidate = outdated.find((p) => p.myid !== leaderMyid) ?? outdated.find((p) => p.myid === leaderMyid);
  if (candidate === undefined) return { kind: 'done' };
  // ZooKeeper counts them synced, but the budget counts Ready pods, and readiness trails by a
  // probe period: restarting now would only be refused.
  const unready = pods.filter((p) => p.name !== candidate.name && !p.ready);
  if (unready.length > 0) {
    const stalled = waitedTooLong(unready, input);
    return wait(
      stalled ? 'RollStalled' : 'WaitingForReadiness',
      `waiting for the pods of ${unready.map(describePod).join(', ')} to report Ready before restarting ${candidate.name}: the PodDisruptionBudget counts only Ready members` +
        (stalled
          ? ` (more than ${Math.round(input.stepTimeoutMs / 1000)} s; check the pod's readiness probe and events)`
          : ''),
      stalled,
    );
  }
  if (isObserverId(candidate.myid)) {
    return {
      kind: 'restart',
      pod: candidate.name,
      reason: {
        code: 'RestartingObserver',
        message: `restarting observer ${candidate.name} (${outdated.length} member(s) outdated; observers go first, the leader ${leader.pod} last); the quorum does not change`,
      },
    };
  }
  const candidateVotes = memberOf(candidate)?.voting && memberOf(candidate)?.synced ? 1 : 0;
  if (health.quorumSize < 3) {
    // One or two voters have no spare: any restart interrupts the quorum. Refusing would leave
    // such clusters unable to take any change, so they restart, one member at a time, and say so.
    return {
      kind: 'restart',
      pod: candidate.name,
      reason: {
        code: 'RestartWithoutRedundancy',
        message: `restarting ${candidate.name}: with ${health.quorumSize} voter(s) the ensemble is unavailable until it is back (use 3 or more members to avoid this)`,
      },
    };
  }
  if (health.syncedVoters - candidateVotes < majorityOf(health.quorumSize)) {
    return wait(
      'QuorumAtRisk',
      `restarting ${candidate.name} would leave ${health.syncedVoters - candidateVotes} synced voters of ${health.quorumSize}; a quorum needs ${majorityOf(health.quorumSize)}`,
    );
  }
  const isLeader = candidate.myid === leaderMyid;
  // Here every member serves in sync and there are three or more voters, so the ensemble
  // without the leader keeps every voter it needs: removing the leader leaves the same fault
  // tolerance as restarting it (one voter out either way), without an election.
  if (isLeader && input.leaderHandOff && health.configVersion !== undefined) {
    return {
      kind: 'handOff',
      pod: candidate.name,
      myid: leaderMyid,
      fromVersion: health.configVersion,
      reason: {
        code: 'HandingOffLeadership',
        message: `moving leadership away from ${candidate.name} (server ${leaderMyid}, the last outdated member) by removing it from config ${health.configVersion}; it restarts as a joiner and is added back once synced`,
      },
    };
  }
  return {
    kind: 'restart',
    pod: candidate.name,
    reason: {
      code: isLeader ? 'RestartingLeader' : 'RestartingFollower',
      message: isLeader
        ? `restarting the leader ${candidate.name} last; ${outdated.length - 1} other member(s) outdated`
        : `restarting ${candidate.name} (${outdated.length} member(s) outdated; the leader ${leader.pod} goes last)`,
    },
  };
}

/** Whether a member waited for was restarted onto the desired revision, and the oldest waited for is older than a step may take. */
function waitedTooLong(waitedFor: readonly MemberPod[], input: RollInput): boolean {
  const oldest = waitedFor.reduce((a, b) => (a.createdAt <= b.createdAt ? a : b));
  return (
    waitedFor.some((p) => p.revision === input.desiredRevision) &&
    input.now.getTime() - oldest.createdAt.getTime() > input.stepTimeoutMs
  );
}
