/**
 * The observer planner: the next step that moves the committed observers and the observer
 * StatefulSet towards `desiredObservers` (server ids OBSERVER_ID_BASE+1.., `names.ts`), or why
 * not now. Pure. Asked only once the voters have settled (`membership.ts`), so there is never
 * more than one membership change in flight, voter or observer.
 *
 * Observers do not vote: adding or removing one never changes the quorum's size or what it
 * needs. Still, a reconfig needs a leader with a quorum, so the same guards as the voters'
 * apply (paused, no quorum, anomalies, an unknown config); then, one observer per step:
 * - up: raise the observer StatefulSet by one (the pod starts with the committed members plus
 *   itself as observer, and syncs with the leader), wait until it serves in sync, then add it
 *   with a reconfig conditional on the version just read. Until it is added it is not in the
 *   config it learns from the leader, and ZooKeeper runs a server outside its config as a
 *   non-voting follower (measured: `srvr` mode `follower`); the reconfig that adds it as an
 *   observer makes it rejoin as one. The count is raised only when every observer pod is committed.
 * - down: remove the highest committed observer beyond the target by reconfig, then lower the
 *   StatefulSet by one (no activating write: the quorum does not change), which deletes the pod
 *   and, by the StatefulSet's retention policy, its claim: an observer's data is a copy of
 *   committed history that the leader can always send again.
 * Like the voters' planner it keeps no state: the committed config, the observer pods and the
 * StatefulSet's replicas say where a change stands.
 */
import type { ResolvedSpec } from '../api/defaults.js';
import { type ClusterRef, observerIdOfOrdinal, observerIdsUpTo, ordinalOfMyid } from '../render/names.js';
import { serverLine } from '../render/zoo-cfg.js';
import type { EnsembleHealth } from '../zookeeper/health.js';
import { describePod } from './rolling-restart.js';
import {
  anomalyWait,
  configUnknownWait,
  ids,
  joinerReplacement,
  noQuorumWait,
  reason,
  type ScalingPod,
  type ScalingStep,
  wait,
} from './scaling.js';

export interface ObserverInput {
  cluster: ClusterRef;
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>;
  /** The client address of the line an observer is added with (`tls-phases.ts`). */
  clientOnLoopback: boolean;
  desiredObservers: number;
  /** The observer StatefulSet's spec.replicas (0 while it does not exist). */
  podCount: number;
  /** Observer pods only. */
  pods: readonly ScalingPod[];
  health: EnsembleHealth;
  paused: boolean;
  /** An observer that has not synced this long after its pod was created stalls the scaling. */
  stepTimeoutMs: number;
  desiredRevision: string;
  now: Date;
}

/** The observer pod count that covers every committed observer: the StatefulSet never drops one. */
export function observerPodFloor(committedObservers: readonly number[]): number {
  return Math.max(0, ...committedObservers.map((id) => ordinalOfMyid(id) + 1));
}

export function nextObserverStep(input: ObserverInput): ScalingStep {
  const { health, podCount } = input;
  const target = input.desiredObservers;
  const committed = [...health.committedObservers].sort((a, b) => a - b);
  const inConfig = (id: number) => committed.includes(id);
  const pods = [...input.pods].sort((a, b) => a.myid - b.myid);
  const podOf = (id: number) => pods.find((p) => p.myid === id);
  const wanted = observerIdsUpTo(target);
  const missing = wanted.filter((id) => !inConfig(id));
  const extra = committed.filter((id) => !wanted.includes(id)).sort((a, b) => b - a);
  const highestPod = observerIdOfOrdinal(podCount - 1);
  const beyondCount = (id: number) => ordinalOfMyid(id) >= podCount;

  if (missing.length === 0 && extra.length === 0 && podCount === target && !pods.some((p) => beyondCount(p.myid))) {
    return { kind: 'done' };
  }
  const guard = input.paused
    ? wait(
        'Paused',
        `spec.paused is set: changing the observers from ${committed.length} to ${target} waits (observer StatefulSet at ${podCount})`,
      )
    : (noQuorumWait(health) ?? anomalyWait(health) ?? configUnknownWait(health));
  if (guard !== undefined) return guard;
  const version = health.configVersion ?? '';

  const leaving = pods.filter((p) => p.terminating || beyondCount(p.myid));
  if (leaving.length > 0) {
    return wait(
      'MemberTerminating',
      `waiting for ${leaving.map((p) => p.name).join(', ')} to be gone before the next observer step`,
    );
  }

  // Down: the highest observer pod has left the config; its pod goes (and its claim with it).
  if (podCount > target && !inConfig(highestPod)) {
    const name = podOf(highestPod)?.name ?? `server ${highestPod}`;
    return {
      kind: 'lowerObserverCount',
      to: podCount - 1,
      reason: reason(
        'RemovingObserverPod',
        `observer ${name} left the committed config ${version}; lowering the observer StatefulSet to ${podCount - 1}`,
      ),
    };
  }
  const removed = extra[0];
  if (removed !== undefined) {
    return {
      kind: 'removeMember',
      myid: removed,
      fromVersion: version,
      reason: reason(
        'RemovingObserver',
        `removing observer server ${removed} from config ${version}: ${committed.length} -> ${committed.length - 1} observers, target ${target}; the quorum does not change`,
      ),
    };
  }

  // Up: the lowest missing observer, once its pod serves in sync as an observer.
  const joinerId = missing[0];
  if (joinerId !== undefined && !beyondCount(joinerId)) {
    const joinerPod = podOf(joinerId);
    if (joinerPod === undefined) {
      return wait(
        'MemberMissing',
        `waiting for the observer StatefulSet to create the pod of observer server ${joinerId}`,
      );
    }
    const joiner = health.members.find((m) => m.myid === joinerId);
    const replacement = joinerReplacement(joinerPod, joiner, joinerId, input.desiredRevision);
    if (replacement !== undefined) return replacement;
    if (!(joiner?.serving === true && joiner.synced)) {
      const stalled = input.now.getTime() - joinerPod.createdAt.getTime() > input.stepTimeoutMs;
      return wait(
        stalled ? 'JoinerStalled' : 'WaitingForObserver',
        `waiting for ${describePod(joinerPod)}, observer server ${joinerId}, to serve in sync with the leader before it is added` +
          (stalled ? ` (more than ${Math.round(input.stepTimeoutMs / 1000)} s; check the pod's logs and events)` : ''),
        stalled,
      );
    }
    return {
      kind: 'addMember',
      myid: joinerId,
      serverLine: serverLine(input.cluster, joinerId, input.spec, input.clientOnLoopback),
      fromVersion: version,
      reason: reason(
        'AddingObserver',
        `adding ${joinerPod.name} (observer server ${joinerId}) to config ${version}: ${committed.length} -> ${committed.length + 1} observers, target ${target}; the quorum does not change`,
      ),
    };
  }

  const absent = observerIdsUpTo(podCount).filter((id) => podOf(id) === undefined);
  if (absent.length > 0) {
    return wait('MemberMissing', `waiting for the observer StatefulSet to recreate the pods of ${ids(absent)}`);
  }
  const outside = pods.filter((p) => !inConfig(p.myid));
  if (outside.length > 0) {
    return wait(
      'WaitingForObserver',
      `observer pods outside the committed config must join or leave first: ${outside.map((p) => p.name).join(', ')}`,
    );
  }
  // The last one added rejoins as an observer (ZooKeeper restarts its peer on the role change):
  // the next one starts once that change has shown its effect.
  const rejoining = committed.filter((id) => {
    const member = health.members.find((m) => m.myid === id);
    return member?.serving === true && (!member.synced || member.role !== 'observer');
  });
  if (rejoining.length > 0) {
    return wait(
      'WaitingForSync',
      `waiting for ${ids(rejoining)} to serve in sync as observer(s) before the next observer starts`,
    );
  }
  if (podCount < target) {
    const next = observerIdOfOrdinal(podCount);
    return {
      kind: 'raiseObserverCount',
      to: podCount + 1,
      reason: reason(
        'StartingObserver',
        `raising the observer StatefulSet to ${podCount + 1}: observer server ${next} starts and syncs with the leader`,
      ),
    };
  }
  return wait(
    'MembershipMismatch',
    `committed observers ${ids(committed)} and ${podCount} observer pod(s) do not match the target of ${target}, and no safe step is known`,
  );
}
