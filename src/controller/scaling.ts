/**
 * The scaling planner: the next step that moves the committed membership and the StatefulSet
 * towards `desiredReplicas` voters (server ids 1..desired), or why not now. Pure.
 *
 * Membership changes by ZooKeeper's dynamic reconfiguration, one voter per step:
 * - up, N -> N+1: raise the StatefulSet by one (the new pod starts with the committed voters plus
 *   itself and syncs as a non-voting follower), wait until it is synced, then add it with a
 *   reconfig conditional on the version just read. The pod count is raised only when every pod
 *   is a committed voter: there is never more than one joiner.
 * - down, N -> N-1: remove the highest server id from the config (also when it leads: ZooKeeper
 *   hands leadership over), make one write so that the new config is active everywhere, then
 *   lower the StatefulSet by one and wait until the pod is gone.
 * - every step waits while the ensemble is not Available, while members disagree (two leaders,
 *   another epoch, another config version) and while `paused` is set;
 * - a member is added or removed only if the synced voters of the resulting config are a
 *   majority of it: the same rule ZooKeeper enforces with NewConfigNoQuorum, checked first so a
 *   doomed reconfig is never sent;
 * - "active" is observed, not remembered: the leader's last processed zxid is beyond the config
 *   version (the zxid of the reconfig) once a write, or a new leader's epoch, followed it.
 * The rules form one chain (`SCALING_CHAIN`): first the guards that stop every change (paused,
 * no quorum, anomalies, an unknown config, a pod on its way out), then the steps in order of
 * precedence; the first rule that answers decides.
 * The planner keeps no state: the committed config (`/zookeeper/config` as the leader reports
 * it), the pods, the claims and the StatefulSet's replicas say where a change stands, so an
 * operator restarted between a reconfig and the StatefulSet change, a failed reconfig, or a pod
 * lost mid-step are all repaired by the same rules.
 *
 * Storage of removed members (claim `myid` = ordinal + 1): a claim is touched only once its
 * member has left the committed config, the StatefulSet no longer covers its ordinal and its pod
 * is gone.
 * - reclaim policy Delete: the claim is deleted (`deleteClaim`).
 * - reclaim policy Retain: the claim is kept and marked (`markClaim`, the annotation
 *   REMOVED_MEMBER_ANNOTATION = the config version it left in). Its data is history of a member
 *   that left: its transaction log may hold proposals the ensemble never committed, and its
 *   `myid` would pass the start script's identity check. So before a scale-up reuses the
 *   ordinal, the marked claim is deleted (`deleteClaim`, reason ReleasingRetainedClaim) and the
 *   StatefulSet creates an empty one; the joiner syncs from the leader (a snapshot) before it
 *   may vote. The bytes outlive the claim only if the volume's own reclaim policy is Retain.
 *   A claim found beyond the pod count without a mark (e.g. the operator stopped between the pod
 *   deletion and the mark) is marked first, so it is never reused unmarked.
 */

import { ANNOTATION_PREFIX } from '../api/constants.js';
import type { ResolvedSpec } from '../api/defaults.js';
import type { ReclaimPolicy } from '../api/types.js';
import { type ClusterRef, serverIdsUpTo } from '../render/names.js';
import { serverLine } from '../render/zoo-cfg.js';
import { type EnsembleHealth, type MemberHealth, majorityOf } from '../zookeeper/health.js';
import { describePod, type Reason } from './rolling-restart.js';

/** On a retained claim of a removed member: the config version (hex) it left the ensemble in. */
export const REMOVED_MEMBER_ANNOTATION = `${ANNOTATION_PREFIX}/removed-in-config-version`;

export interface ScalingPod {
  name: string;
  /** ordinal + 1 */
  myid: number;
  /** Has a deletionTimestamp. */
  terminating: boolean;
  /** When this pod object was created. */
  createdAt: Date;
  /** What the scheduler or kubelet says is wrong with it, for messages. */
  problem?: string;
  /** The revision its template had (the REVISION_ANNOTATION). */
  revision: string | undefined;
  /** Waiting in a state it does not leave by itself (CrashLoopBackOff, ImagePullBackOff, …). */
  stuck: boolean;
  /** Its readiness probe passes. */
  ready: boolean;
}

/** A member's data claim (`<template>-<cluster>-<ordinal>`). */
export interface MemberClaim {
  name: string;
  /** ordinal + 1 */
  myid: number;
  /** Carries REMOVED_MEMBER_ANNOTATION. */
  markedRemoved: boolean;
}

/** The name of the StatefulSet's data claim for a member: `data-<cluster>-<ordinal>`. */
export const DATA_CLAIM_TEMPLATE = 'data';

/**
 * A PersistentVolumeClaim as the planner sees it, or undefined when it is not a member's data
 * claim of this cluster. `annotations` are the claim's metadata.annotations.
 */
export function memberClaimOf(
  clusterName: string,
  claimName: string,
  annotations: Readonly<Record<string, string>> | undefined,
): MemberClaim | undefined {
  const ordinal = dataClaimOrdinal(clusterName, claimName);
  if (ordinal === undefined) return undefined;
  return {
    name: claimName,
    myid: ordinal + 1,
    markedRemoved: annotations?.[REMOVED_MEMBER_ANNOTATION] !== undefined,
  };
}

/**
 * The pod ordinal of a data claim of StatefulSet `statefulSetName` (`data-<statefulSet>-<ordinal>`,
 * as the StatefulSet controller names them), or undefined for any other claim.
 */
export function dataClaimOrdinal(statefulSetName: string, claimName: string): number | undefined {
  const prefix = `${DATA_CLAIM_TEMPLATE}-${statefulSetName}-`;
  if (!claimName.startsWith(prefix)) return undefined;
  const ordinal = claimName.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(ordinal) ? Number(ordinal) : undefined;
}

export interface ScalingInput {
  cluster: ClusterRef;
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>;
  /** The client address of the line a member is added with (`tls-phases.ts`). */
  clientOnLoopback: boolean;
  desiredReplicas: number;
  /** The StatefulSet's spec.replicas. */
  podCount: number;
  pods: readonly ScalingPod[];
  claims: readonly MemberClaim[];
  reclaimPolicy: ReclaimPolicy;
  health: EnsembleHealth;
  paused: boolean;
  /** A joiner that has not synced this long after its pod was created stalls the scaling. */
  stepTimeoutMs: number;
  /** The revision member pods should carry (a joiner on another one that does not serve is replaced). */
  desiredRevision: string;
  now: Date;
}

export type ScalingStep =
  | { kind: 'done' }
  /** `stalled`: waiting longer than the step timeout; a person should look (the reason says where). */
  | { kind: 'wait'; reason: Reason; stalled: boolean }
  /** Set the StatefulSet's replicas to `to` (one more pod). */
  | { kind: 'raisePodCount'; to: number; reason: Reason }
  /** `reconfig -add <serverLine> -v <fromVersion>`. */
  | { kind: 'addMember'; myid: number; serverLine: string; fromVersion: string; reason: Reason }
  /** `reconfig -remove <myid> -v <fromVersion>`; ConnectionLoss when it leads: re-read the config. */
  | { kind: 'removeMember'; myid: number; fromVersion: string; reason: Reason }
  /** One write through the ensemble, so the config `version` is active on every new member. */
  | { kind: 'commitWrite'; version: string; reason: Reason }
  /** Set the StatefulSet's replicas to `to` (one pod less). */
  | { kind: 'lowerPodCount'; to: number; reason: Reason }
  /** Set the observer StatefulSet's replicas to `to` (one observer pod more). */
  | { kind: 'raiseObserverCount'; to: number; reason: Reason }
  /** Set the observer StatefulSet's replicas to `to` (one observer pod less). */
  | { kind: 'lowerObserverCount'; to: number; reason: Reason }
  | { kind: 'deleteClaim'; claim: string; reason: Reason }
  /** Annotate the claim with REMOVED_MEMBER_ANNOTATION = `version`. */
  | { kind: 'markClaim'; claim: string; version: string; reason: Reason }
  /** Evict a joiner's pod (not a voter) on an outdated template; the StatefulSet recreates it from the current spec. */
  | { kind: 'replaceJoiner'; pod: string; reason: Reason };

export type ScalingStepKind = ScalingStep['kind'];

export const reason = (code: string, message: string): Reason => ({ code, message });
export const wait = (code: string, message: string, stalled = false): ScalingStep => ({
  kind: 'wait',
  reason: reason(code, message),
  stalled,
});
export const ids = (list: readonly number[]) => list.map((id) => `server ${id}`).join(', ');

/** The voters of `config` that are synced with the leader right now. */
function syncedIn(config: readonly number[], members: readonly MemberHealth[]): number {
  return config.filter((id) => members.some((m) => m.myid === id && m.serving && m.synced)).length;
}

/** The leader's last processed zxid is beyond the config version: the config is active. */
function activated(health: EnsembleHealth, version: string): boolean {
  const leader = health.members.find((m) => m.myid === health.leader?.myid);
  if (leader?.zxid === undefined) return false;
  return BigInt(leader.zxid) > BigInt(`0x${version}`);
}

/** What every rule of the chain reads: the input and the facts derived from it, each computed once. */
interface ScalingFacts {
  input: ScalingInput;
  health: EnsembleHealth;
  target: number;
  podCount: number;
  /** The committed voters, ascending. */
  committed: number[];
  inConfig: (id: number) => boolean;
  /** Pods by server id, ascending. */
  pods: ScalingPod[];
  podOf: (id: number) => ScalingPod | undefined;
  memberOf: (id: number) => MemberHealth | undefined;
  /** Server ids the target wants that the config lacks, ascending. */
  missing: number[];
  /** Voters beyond the target, highest first. */
  extra: number[];
  /** Claims of removed members still to delete or mark. */
  pendingClaims: MemberClaim[];
  /**
   * The committed config version. Read by the steps only, which run after the `configUnknown`
   * guard has stopped the chain when the leader did not report one.
   */
  version: string;
  /** Why removing the highest extra voter is not safe now; undefined when it is, or none is extra. */
  removalBlocked: ScalingStep | undefined;
}

/** One link of the chain: a step (or a wait) when the rule applies, undefined to ask the next. */
type ScalingRule = (facts: ScalingFacts) => ScalingStep | undefined;

function scalingFacts(input: ScalingInput): ScalingFacts {
  const { health, podCount } = input;
  const target = input.desiredReplicas;
  const committed = [...health.committedVoters].sort((a, b) => a - b);
  const inConfig = (id: number) => committed.includes(id);
  const pods = [...input.pods].sort((a, b) => a.myid - b.myid);
  const podOf = (id: number) => pods.find((p) => p.myid === id);
  const memberOf = (id: number) => health.members.find((m) => m.myid === id);
  const desiredIds = serverIdsUpTo(target);
  const extra = committed.filter((id) => id > target).sort((a, b) => b - a);
  // Claims of removed members: beyond the pod count, not in the config, no pod left.
  const leftoverClaims = input.claims
    .filter((c) => c.myid > podCount && !inConfig(c.myid) && podOf(c.myid) === undefined)
    .sort((a, b) => a.myid - b.myid);
  return {
    input,
    health,
    target,
    podCount,
    committed,
    inConfig,
    pods,
    podOf,
    memberOf,
    missing: desiredIds.filter((id) => !inConfig(id)),
    extra,
    pendingClaims: leftoverClaims.filter((c) => input.reclaimPolicy === 'Delete' || !c.markedRemoved),
    version: health.configVersion ?? '',
    removalBlocked: removalBlockedBy(extra[0], committed, health, memberOf),
  };
}

function removalBlockedBy(
  leaving: number | undefined,
  committed: readonly number[],
  health: EnsembleHealth,
  memberOf: (id: number) => MemberHealth | undefined,
): ScalingStep | undefined {
  if (leaving === undefined) return undefined;
  const remaining = committed.filter((id) => id !== leaving);
  const synced = syncedIn(remaining, health.members);
  if (synced >= majorityOf(remaining.length)) return undefined;
  return wait(
    'QuorumAtRisk',
    `removing server ${leaving} would leave ${synced} synced voters of ${remaining.length}; a quorum needs ${majorityOf(remaining.length)} (not synced: ${ids(remaining.filter((id) => !(memberOf(id)?.synced ?? false)))})`,
  );
}

// Guards: when one applies, membership does not change now.

const converged: ScalingRule = (f) =>
  f.committed.length > 0 &&
  f.missing.length === 0 &&
  f.extra.length === 0 &&
  f.podCount === f.target &&
  f.pendingClaims.length === 0 &&
  !f.pods.some((p) => p.myid > f.target)
    ? { kind: 'done' }
    : undefined;

const invalidTarget: ScalingRule = (f) =>
  f.target < 1
    ? wait('InvalidReplicas', `cannot scale to ${f.target} members; an ensemble needs at least one`)
    : undefined;

const paused: ScalingRule = (f) =>
  f.input.paused
    ? wait(
        'Paused',
        `spec.paused is set: scaling from ${f.committed.length} to ${f.target} voters waits (StatefulSet at ${f.podCount})`,
      )
    : undefined;

/** No leader with a synced majority: membership does not change (voters' or observers'). */
export const noQuorumWait = (health: EnsembleHealth): ScalingStep | undefined =>
  !health.available || health.leader === undefined
    ? wait(
        'NoQuorum',
        `the ensemble has no leader with a synced majority (${health.syncedVoters} of ${health.quorumSize} voters synced); membership does not change`,
      )
    : undefined;

/** Members that disagree (two leaders, another epoch, another config version); a joiner outside the config is expected. */
export const anomalyWait = (health: EnsembleHealth): ScalingStep | undefined => {
  const blocking = health.anomalies.filter((a) => a.reason !== 'MemberNotInConfig');
  return blocking.length > 0
    ? wait(blocking[0]?.reason ?? 'Anomaly', blocking.map((a) => a.message).join('; '))
    : undefined;
};

/** A reconfig is conditional on the committed version: without it, nothing is sent. */
export const configUnknownWait = (health: EnsembleHealth): ScalingStep | undefined =>
  health.configVersion === undefined || health.committedVoters.length === 0
    ? wait('ConfigUnknown', 'the leader did not report its committed config and version; membership does not change')
    : undefined;

const noQuorum: ScalingRule = ({ health }) => noQuorumWait(health);
const anomalies: ScalingRule = ({ health }) => anomalyWait(health);
const configUnknown: ScalingRule = ({ health }) => configUnknownWait(health);

/** A pod on its way out (deleted, or beyond the StatefulSet's replicas) must be gone first. */
const terminating: ScalingRule = (f) => {
  const leaving = f.pods.filter((p) => p.terminating || p.myid > f.podCount);
  return leaving.length > 0
    ? wait(
        'MemberTerminating',
        `waiting for ${leaving.map((p) => p.name).join(', ')} to be gone before the next scaling step`,
      )
    : undefined;
};

// Steps, in order of precedence.

/** Finish a removal: the highest pod's member has left the config; activate, then lower. */
const finishRemoval: ScalingRule = (f) => {
  if (!(f.podCount > f.target && !f.inConfig(f.podCount))) return undefined;
  const leaving = f.podOf(f.podCount)?.name ?? `server ${f.podCount}`;
  if (!activated(f.health, f.version)) {
    return {
      kind: 'commitWrite',
      version: f.version,
      reason: reason(
        'ActivatingConfig',
        `writing once so that config ${f.version} (without ${leaving}) is active before its pod is deleted`,
      ),
    };
  }
  return {
    kind: 'lowerPodCount',
    to: f.podCount - 1,
    reason: reason(
      'RemovingMemberPod',
      `${leaving} left the committed config ${f.version}; lowering the StatefulSet to ${f.podCount - 1}`,
    ),
  };
};

/** Storage of members that are gone. */
const reclaimClaims: ScalingRule = (f) => {
  const claim = f.pendingClaims[0];
  if (claim === undefined) return undefined;
  if (f.input.reclaimPolicy === 'Delete') {
    return {
      kind: 'deleteClaim',
      claim: claim.name,
      reason: reason('DeletingClaim', `server ${claim.myid} left the ensemble; deleting its claim ${claim.name}`),
    };
  }
  return {
    kind: 'markClaim',
    claim: claim.name,
    version: f.version,
    reason: reason(
      'RetainingClaim',
      `server ${claim.myid} left the ensemble; keeping its claim ${claim.name}, marked as removed in config ${f.version}`,
    ),
  };
};

/**
 * Remove one voter: the highest id first, even the leader (ZooKeeper hands leadership over).
 * When that is not safe, a synced joiner the target wants may still be added first
 * (`addJoiner`): it raises the synced voters.
 */
const removeVoter: ScalingRule = (f) => {
  const leaving = f.extra[0];
  if (leaving === undefined || f.removalBlocked !== undefined) return undefined;
  const remaining = f.committed.filter((id) => id !== leaving);
  const isLeader = leaving === f.health.leader?.myid;
  return {
    kind: 'removeMember',
    myid: leaving,
    fromVersion: f.version,
    reason: reason(
      isLeader ? 'RemovingLeader' : 'RemovingMember',
      `removing server ${leaving}${isLeader ? ' (the leader; leadership moves)' : ''} from config ${f.version}: ${f.committed.length} -> ${remaining.length} voters, target ${f.target}`,
    ),
  };
};

/** Add the joiner: the lowest missing id, once its pod is a synced non-voting follower. */
const addJoiner: ScalingRule = (f) => {
  const joinerId = f.missing[0];
  if (joinerId === undefined || joinerId > f.podCount) return undefined;
  const joiner = f.memberOf(joinerId);
  const joinerPod = f.podOf(joinerId);
  if (joinerPod === undefined) {
    return (
      f.removalBlocked ??
      wait('MemberMissing', `waiting for the StatefulSet to create the pod of joining server ${joinerId}`)
    );
  }
  const replacement = joinerReplacement(joinerPod, joiner, joinerId, f.input.desiredRevision);
  if (replacement !== undefined) return replacement;
  const joinerSynced = joiner?.serving === true && joiner.synced;
  if (!joinerSynced) {
    const waitedMs = f.input.now.getTime() - joinerPod.createdAt.getTime();
    const stalled = waitedMs > f.input.stepTimeoutMs;
    return (
      f.removalBlocked ??
      wait(
        stalled ? 'JoinerStalled' : 'WaitingForJoiner',
        `waiting for ${describePod(joinerPod)}, server ${joinerId}, to sync with the leader as a non-voting follower` +
          (stalled
            ? ` (more than ${Math.round(f.input.stepTimeoutMs / 1000)} s; check the pod's logs and events)`
            : ''),
        stalled,
      )
    );
  }
  const next = [...f.committed, joinerId];
  const synced = syncedIn(next, f.health.members);
  if (synced < majorityOf(next.length)) {
    return (
      f.removalBlocked ??
      wait(
        'QuorumAtRisk',
        `adding server ${joinerId} would need ${majorityOf(next.length)} synced voters of ${next.length}; ${synced} are synced`,
      )
    );
  }
  return {
    kind: 'addMember',
    myid: joinerId,
    serverLine: serverLine(f.input.cluster, joinerId, f.input.spec, f.input.clientOnLoopback),
    fromVersion: f.version,
    reason: reason(
      'AddingMember',
      `adding ${joinerPod.name} (server ${joinerId}) to config ${f.version}: ${f.committed.length} -> ${next.length} voters, target ${f.target}`,
    ),
  };
};

/**
 * A joiner is not in the committed config: replacing it costs no vote. One on a template the
 * spec no longer asks for is replaced before it is added: down (a fixed image or config), it
 * would never come up by itself; synced (a leader that handed off leadership, or a spec changed
 * mid scale-up), adding it would only mean restarting it later. One still syncing is left to
 * finish: it may be far into a long transfer.
 */
export function joinerReplacement(
  joinerPod: ScalingPod,
  joiner: MemberHealth | undefined,
  joinerId: number,
  desiredRevision: string,
): ScalingStep | undefined {
  const down = joinerPod.stuck || (!joinerPod.ready && !(joiner?.serving ?? false));
  const joinerSynced = joiner?.serving === true && joiner.synced;
  if (joinerPod.revision === desiredRevision || joinerPod.terminating || !(down || joinerSynced)) return undefined;
  return {
    kind: 'replaceJoiner',
    pod: joinerPod.name,
    reason: reason(
      'ReplacingJoiner',
      `replacing ${describePod(joinerPod)}, joining server ${joinerId}: ${down ? 'it is not serving and ' : ''}its template is outdated; the StatefulSet recreates it from the current spec`,
    ),
  };
}

/** A removal that is not safe, with nothing to add instead: wait, saying who is not synced. */
const blockedRemoval: ScalingRule = (f) => f.removalBlocked;

/** The pods below the count must all exist before the count moves. */
const absentPods: ScalingRule = (f) => {
  const absent = serverIdsUpTo(f.podCount).filter((id) => f.podOf(id) === undefined);
  return absent.length > 0
    ? wait('MemberMissing', `waiting for the StatefulSet to recreate the pods of ${ids(absent)}`)
    : undefined;
};

/** Only when every pod is a voter, so there is never a second joiner. */
const outsiders: ScalingRule = (f) => {
  const outside = f.pods.filter((p) => !f.inConfig(p.myid));
  return outside.length > 0
    ? wait(
        'WaitingForJoiner',
        `pods outside the committed config must join or leave first: ${outside.map((p) => p.name).join(', ')}`,
      )
    : undefined;
};

const midSync: ScalingRule = (f) => {
  const syncing = f.committed.filter((id) => {
    const m = f.memberOf(id);
    return m?.serving === true && !m.synced;
  });
  return syncing.length > 0
    ? wait('WaitingForSync', `waiting for ${ids(syncing)} to finish syncing with the leader`)
    : undefined;
};

/** Raise the pod count by one: a voter's pod that is missing, or the next joiner (after releasing a retained claim). */
const raisePodCount: ScalingRule = (f) => {
  if (f.podCount >= f.target) return undefined;
  const nextId = f.podCount + 1;
  const reused = f.input.claims.find((c) => c.myid === nextId && c.markedRemoved);
  if (reused !== undefined && !f.inConfig(nextId)) {
    return {
      kind: 'deleteClaim',
      claim: reused.name,
      reason: reason(
        'ReleasingRetainedClaim',
        `deleting the retained claim ${reused.name} of removed server ${nextId} so that its stale data cannot rejoin; the new member syncs from the leader`,
      ),
    };
  }
  return {
    kind: 'raisePodCount',
    to: nextId,
    reason: f.inConfig(nextId)
      ? reason(
          'RestoringMemberPod',
          `server ${nextId} is in config ${f.version} but has no pod; raising the StatefulSet to ${nextId}`,
        )
      : reason(
          'StartingJoiner',
          `raising the StatefulSet to ${nextId}: server ${nextId} starts as a non-voting follower`,
        ),
  };
};

const SCALING_CHAIN: readonly ScalingRule[] = [
  converged,
  invalidTarget,
  paused,
  noQuorum,
  anomalies,
  configUnknown,
  terminating,
  finishRemoval,
  reclaimClaims,
  removeVoter,
  addJoiner,
  blockedRemoval,
  absentPods,
  outsiders,
  midSync,
  raisePodCount,
];

export function nextScalingStep(input: ScalingInput): ScalingStep {
  const facts = scalingFacts(input);
  for (const rule of SCALING_CHAIN) {
    const step = rule(facts);
    if (step !== undefined) return step;
  }
  return wait(
    'MembershipMismatch',
    `committed voters ${ids(facts.committed)} and ${facts.podCount} pod(s) do not match the target of ${facts.target}, and no safe step is known`,
  );
}
