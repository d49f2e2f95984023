/**
 * The cluster's status, computed from what was observed. Pure: the reconciler writes the
 * result only when it differs from the status already stored.
 *
 * Health comes from ZooKeeper itself when members could be read (who leads, who is synced,
 * the quorum), and from pod readiness otherwise. Conditions carry a reason and a message that
 * names the members concerned:
 * - Available: a single leader and a majority of synced voters;
 * - Degraded: fewer synced voters than the design tolerates, an anomaly, an invalid spec, a
 *   super-user Secret the cluster does not own, or a failed apply;
 * - Progressing: a roll is under way (which member, and what it waits for) or members start;
 * - CertificateExpiringSoon (only with spec.tls): a certificate past the middle of its renewal
 *   window, so renewal keeps failing (`certificates.ts`).
 *
 * The status holds only what a user acts on: roles, sync, quorum, versions, conditions. Nothing
 * in it moves with client traffic (a member's zxid is a metric, not status) or with time alone
 * (certificate expiries move only when a certificate is replaced, and CertificateExpiringSoon
 * turns only once a renewal is overdue), so a healthy cluster, idle or busy, computes the same status every time and is never written.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { REVISION_ANNOTATION } from '../api/constants.js';
import { resolveSpec } from '../api/defaults.js';
import { type TlsPhase, usesCertificates } from '../api/tls-phases.js';
import type {
  MemberStatus,
  OperationStatus,
  TlsStatus,
  ZooKeeperCluster,
  ZooKeeperClusterStatus,
} from '../api/types.js';
import { imageVersion, type SpecProblem } from '../api/validation.js';
import { clientServiceHost, isObserverId, selectorString, serverIdOfPod } from '../render/names.js';
import { type EnsembleHealth, majorityOf } from '../zookeeper/health.js';
import type { CertificateReport } from './certificates.js';
import { type ConditionInput, findCondition, mergeConditions } from './conditions.js';
import type { MoveStep } from './member-move.js';
import { toMemberPod } from './member-pods.js';
import { describePod, type RollStep } from './rolling-restart.js';
import type { ScalingStep } from './scaling.js';
import type { StorageStep } from './storage-resize.js';

export interface StatusInput {
  cluster: ZooKeeperCluster;
  /** The member pods that exist (any phase). */
  pods: readonly V1Pod[];
  /** The revision pods should run; undefined when the spec could not be rendered. */
  desiredRevision: string | undefined;
  /** Problems that stop the operator from acting on the spec. */
  specErrors: readonly SpecProblem[];
  /** A problem outside the spec that stops every action (a super-user Secret the cluster does not own). */
  blocker?: SpecProblem | undefined;
  /** Why the last attempt to apply the desired objects failed, if it did. */
  applyFailure?: SpecProblem | undefined;
  /** ZooKeeper's view, when members were read. */
  health?: EnsembleHealth | undefined;
  /** What the rolling restart decided in this reconcile. */
  roll?: RollStep | undefined;
  /** What the scaling planner decided in this reconcile. */
  scaling?: ScalingStep | undefined;
  /** What the member-move planner decided (or the refusal of its reconfig) in this reconcile. */
  move?: MoveStep | undefined;
  /** What the storage-resize planner decided, when it ran (membership and revisions settled). */
  storage?: StorageStep | undefined;
  /** Member pods to restart so their grown volumes are mounted again (counted as outdated). */
  remount?: readonly string[] | undefined;
  /** The certificates of spec.tls as observed; undefined without spec.tls. */
  certificates?: CertificateReport | undefined;
  /** Where the members stand on the TLS ladders (`tls-phase.ts`), when they were observed. */
  tlsPhase?: TlsPhase | undefined;
  /** Whether the ensemble exists already, from ZooKeeper's answers and the data holders (`ensembleFormation`). */
  formed: boolean;
  now: Date;
}

export const isPodReady = (pod: V1Pod): boolean =>
  pod.metadata?.deletionTimestamp === undefined &&
  (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Each member's serving state: from ZooKeeper when read, else from pod readiness. */
function memberView(input: StatusInput): MemberStatus[] {
  const podNames = input.pods.map((p) => p.metadata?.name ?? '');
  if (input.health !== undefined) {
    return input.health.members
      .filter((m) => podNames.includes(m.pod))
      .map((m) => ({
        pod: m.pod,
        myid: m.myid,
        role: m.role,
        serving: m.serving,
        voting: m.voting,
        synced: m.synced,
      }));
  }
  return [...input.pods]
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .map((pod) => {
      const name = pod.metadata?.name ?? '';
      const ready = isPodReady(pod);
      const myid = serverIdOfPod(input.cluster.metadata.name, name) ?? 0;
      return {
        pod: name,
        myid,
        role: 'unknown' as const,
        serving: ready,
        voting: ready && !isObserverId(myid),
        synced: ready,
      };
    });
}

export function computeStatus(input: StatusInput): ZooKeeperClusterStatus {
  const {
    cluster,
    pods,
    desiredRevision,
    specErrors,
    blocker,
    applyFailure,
    health,
    roll,
    scaling,
    move,
    storage,
    now,
  } = input;
  const previous = cluster.status ?? {};
  const spec = resolveSpec(cluster.spec);
  const members = memberView(input);
  // Voters and observers apart: the quorum, `replicas` and the scale subresource are the voters'.
  const observerPod = (pod: V1Pod) => isObserverId(serverIdOfPod(cluster.metadata.name, pod.metadata?.name ?? '') ?? 0);
  const voterPods = pods.filter((p) => !observerPod(p));
  const observerPods = pods.filter(observerPod);
  const voters = members.filter((m) => !isObserverId(m.myid));
  const observers = members.filter((m) => isObserverId(m.myid));
  const synced = voters.filter((m) => m.synced);
  const syncedObservers = observers.filter((m) => m.synced);
  const unsynced = members.filter((m) => !m.synced);
  // While membership changes, one member at a time, the ensemble's size is what it has now.
  const activeScaling = scaling !== undefined && scaling.kind !== 'done' ? scaling : undefined;
  const size = activeScaling === undefined ? spec.replicas : voterPods.length;
  const observerCount = activeScaling === undefined ? spec.observers : observerPods.length;
  const missing = Math.max(0, size - voters.length) + Math.max(0, observerCount - observers.length);
  // The voters have settled: a scaling step is the observers' (`membership.ts` asks them only then).
  const observersScaling =
    activeScaling !== undefined &&
    (health?.committedVoters.length ?? voterPods.length) === spec.replicas &&
    voterPods.length === spec.replicas &&
    (spec.observers > 0 || observerPods.length > 0);
  const quorumSize = health?.quorumSize || size;
  const syncedVoters = health?.syncedVoters ?? synced.length;
  const available = health !== undefined ? health.available : syncedVoters >= majorityOf(quorumSize);
  const formed = available || input.formed;
  const designedTolerance = size - majorityOf(size);
  const faultTolerance = syncedVoters - majorityOf(quorumSize);
  const anomalies = (health?.anomalies ?? []).filter(
    (a) => !(roll?.kind === 'wait' && a.reason === 'MemberNotInConfig'),
  );
  const outdated =
    desiredRevision === undefined
      ? []
      : pods.filter(
          (p) =>
            p.metadata?.annotations?.[REVISION_ANNOTATION] !== desiredRevision ||
            (input.remount ?? []).includes(p.metadata?.name ?? ''),
        );
  const problem = specErrors[0] ?? blocker ?? applyFailure;
  // A member not in sync, with what its pod's scheduler or kubelet says is wrong, if anything.
  const withPodProblem = (member: { pod: string }): string => {
    const pod = pods.find((p) => p.metadata?.name === member.pod);
    const memberPod = pod === undefined ? undefined : toMemberPod(cluster.metadata.name, pod);
    return memberPod === undefined ? member.pod : describePod(memberPod);
  };
  const quorumMessage = `${syncedVoters} of ${quorumSize} voters synced${health?.leader ? `, leader ${health.leader.pod}` : ''}; a quorum needs ${majorityOf(quorumSize)}`;

  const conditions: ConditionInput[] = [
    available
      ? { type: 'Available', status: 'True', reason: 'QuorumReady', message: quorumMessage }
      : { type: 'Available', status: 'False', reason: formed ? 'NoQuorum' : 'Creating', message: quorumMessage },
    degradedCondition(),
    progressingCondition(),
    ...(input.certificates === undefined ? [] : [input.certificates.condition]),
  ];

  function degradedCondition(): ConditionInput {
    if (problem !== undefined)
      return { type: 'Degraded', status: 'True', reason: problem.reason, message: problem.message };
    if (activeScaling?.kind === 'wait' && activeScaling.stalled) {
      return {
        type: 'Degraded',
        status: 'True',
        reason: activeScaling.reason.code,
        message: activeScaling.reason.message,
      };
    }
    if (roll?.kind === 'wait' && roll.stalled) {
      return { type: 'Degraded', status: 'True', reason: roll.reason.code, message: roll.reason.message };
    }
    if (move?.kind === 'wait' && move.reason.code === 'MoveRefused') {
      return { type: 'Degraded', status: 'True', reason: move.reason.code, message: move.reason.message };
    }
    if (storage?.kind === 'refuseShrink') {
      return { type: 'Degraded', status: 'True', reason: storage.reason.code, message: storage.reason.message };
    }
    if (anomalies.length > 0) {
      return {
        type: 'Degraded',
        status: 'True',
        reason: anomalies[0]?.reason ?? 'Anomaly',
        message: anomalies.map((a) => a.message).join('; '),
      };
    }
    if (unsynced.length > 0 || missing > 0 || faultTolerance < designedTolerance) {
      const parts = [
        unsynced.length > 0 ? `not serving in sync: ${unsynced.map(withPodProblem).join(', ')}` : '',
        missing > 0 ? `${missing} member pod(s) missing` : '',
        `fault tolerance ${Math.max(faultTolerance, 0)} of ${designedTolerance}`,
      ];
      return {
        type: 'Degraded',
        status: 'True',
        reason: 'MembersNotSynced',
        message: parts.filter(Boolean).join('; '),
      };
    }
    return {
      type: 'Degraded',
      status: 'False',
      reason: 'AllMembersSynced',
      message: `all ${size} members serve in sync; fault tolerance ${faultTolerance}`,
    };
  }

  function progressingCondition(): ConditionInput {
    if (specErrors.length > 0) {
      return { type: 'Progressing', status: 'False', reason: 'InvalidSpec', message: 'fix the spec to continue' };
    }
    if (blocker !== undefined) {
      return { type: 'Progressing', status: 'False', reason: blocker.reason, message: blocker.message };
    }
    // A member moves right after its restart, and the roll waits for it: the move says more.
    // Its waits for a restart (the roll's to report) or for a config it could not read (nothing
    // known to be pending) say less than what follows.
    if (
      move?.kind === 'move' ||
      (move?.kind === 'wait' && !['WaitingForRestart', 'ConfigUnknown'].includes(move.reason.code))
    ) {
      return { type: 'Progressing', status: 'True', reason: move.reason.code, message: move.reason.message };
    }
    if (roll?.kind === 'restart' || roll?.kind === 'handOff')
      return { type: 'Progressing', status: 'True', reason: roll.reason.code, message: roll.reason.message };
    if (roll?.kind === 'wait' && outdated.length > 0) {
      return { type: 'Progressing', status: 'True', reason: roll.reason.code, message: roll.reason.message };
    }
    if (activeScaling !== undefined) {
      return {
        type: 'Progressing',
        status: 'True',
        reason: activeScaling.reason.code,
        message: activeScaling.reason.message,
      };
    }
    if (storage !== undefined && storage.kind !== 'done' && storage.kind !== 'refuseShrink') {
      return { type: 'Progressing', status: 'True', reason: storage.reason.code, message: storage.reason.message };
    }
    if (missing > 0 || (!formed && unsynced.length > 0)) {
      return {
        type: 'Progressing',
        status: 'True',
        reason: 'MembersStarting',
        message: `waiting for ${size + observerCount - synced.length - syncedObservers.length} member(s) to serve`,
      };
    }
    return {
      type: 'Progressing',
      status: 'False',
      reason: 'Reconciled',
      message: 'every member runs the desired revision',
    };
  }

  const merged = mergeConditions(previous.conditions, conditions, cluster.metadata.generation, now);
  const degraded = findCondition(merged, 'Degraded')?.status === 'True';
  const activeRoll = outdated.length > 0 && roll !== undefined && roll.kind !== 'done' ? roll : undefined;

  const runningVersions = [...new Set(pods.map((p) => imageVersion(p.spec?.containers[0]?.image ?? '') ?? 'unknown'))];
  const targetVersion = imageVersion(spec.image);
  const revisions = [...new Set(pods.map((p) => p.metadata?.annotations?.[REVISION_ANNOTATION] ?? ''))];
  const configVersion = health?.configVersion ?? previous.configVersion;
  const leader = health !== undefined ? health.leader?.pod : undefined;

  return {
    ...(cluster.metadata.generation === undefined ? {} : { observedGeneration: cluster.metadata.generation }),
    replicas: voterPods.length,
    readyReplicas: synced.length,
    ...(spec.observers > 0 || observerPods.length > 0
      ? { observers: observerPods.length, readyObservers: syncedObservers.length }
      : {}),
    ready: `${synced.length}/${spec.replicas}${spec.observers > 0 || observerPods.length > 0 ? `+${syncedObservers.length}/${spec.observers}` : ''}`,
    selector: selectorString(cluster.metadata),
    phase: spec.paused
      ? 'Paused'
      : !available
        ? formed
          ? 'Unavailable'
          : 'Creating'
        : activeScaling !== undefined
          ? 'Scaling'
          : activeRoll !== undefined
            ? 'Restarting'
            : degraded
              ? 'Degraded'
              : 'Running',
    conditions: merged,
    ...(leader === undefined ? {} : { leader }),
    members,
    quorum: { size: quorumSize, syncedVoters, faultTolerance },
    ...(configVersion === undefined ? {} : { configVersion }),
    ...(runningVersions.length === 1 && runningVersions[0] !== undefined ? { currentVersion: runningVersions[0] } : {}),
    ...(targetVersion === undefined ? {} : { targetVersion }),
    ...(revisions.length === 1 && revisions[0] ? { currentRevision: revisions[0] } : {}),
    ...(desiredRevision === undefined ? {} : { targetRevision: desiredRevision }),
    // Where clients go: the TLS client port once every member serves clients over TLS only.
    clientConnectionString: `${clientServiceHost(cluster.metadata, spec.clusterDomain)}:${input.tlsPhase?.client === 'tls-only' ? spec.ports.secureClient : spec.ports.client}`,
    ...(activeScaling !== undefined
      ? {
          operation: observersScaling
            ? scalingOperation(
                ['AddObservers', 'RemoveObservers'],
                health?.committedObservers.length ?? observerPods.length,
                spec.observers,
                activeScaling.reason.message,
              )
            : scalingOperation(
                ['ScaleUp', 'ScaleDown'],
                health?.committedVoters.length ?? voterPods.length,
                spec.replicas,
                activeScaling.reason.message,
              ),
        }
      : {}),
    ...(activeRoll !== undefined
      ? {
          operation: {
            kind: 'RollingRestart' as const,
            ...(activeRoll.kind === 'restart' || activeRoll.kind === 'handOff' ? { member: activeRoll.pod } : {}),
            waitingFor: activeRoll.reason.message,
            done: pods.length - outdated.length,
            total: pods.length,
          },
        }
      : {}),
    ...tlsStatus(input),
  };
}

/**
 * The certificates, and the TLS phase of each kind of traffic while spec asks for TLS or a member
 * still uses it (a plaintext cluster reports no TLS at all).
 */
function tlsStatus(input: StatusInput): { tls?: TlsStatus } {
  const phase = input.tlsPhase;
  const reportsPhase = phase !== undefined && (input.cluster.spec.tls !== undefined || usesCertificates(phase));
  if (input.certificates === undefined && !reportsPhase) return {};
  return {
    tls: {
      ...input.certificates?.status,
      ...(reportsPhase ? { quorum: phase.quorum, client: phase.client } : {}),
    },
  };
}

/** A membership change under way: towards `desired` members of one kind, `committed` of them now. */
function scalingOperation(
  [up, down]: [OperationStatus['kind'], OperationStatus['kind']],
  committed: number,
  desired: number,
  waitingFor: string,
): OperationStatus {
  return { kind: desired > committed ? up : down, waitingFor, done: Math.min(committed, desired), total: desired };
}
