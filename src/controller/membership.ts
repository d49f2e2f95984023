/**
 * Membership of a formed ensemble, between the pure scaling planner (`scaling.ts`) and the
 * world: what the planner is given (the StatefulSet's pod count, pods, claims, ZooKeeper's
 * view), and the one step it chose, carried out (a conditional reconfig, a claim deleted or
 * marked; pod-count changes are applied with the StatefulSet).
 *
 * The StatefulSet never covers fewer pods than the committed voters. Someone may scale it by
 * hand (`kubectl scale sts`), which would take a voter's pod away and could cost the quorum for
 * good; the operator owns that count, so it restores it and says so. Which voters are committed
 * is taken from ZooKeeper (`conf`) and, when no member answers (no quorum, no pods), from the
 * live ConfigMap's dynamic list: the members every pod starts with.
 */
import type { V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import { clientOnLoopback, type TlsPhase } from '../api/tls-phases.js';
import { desiredRevision } from '../render/cluster.js';
import { DYNAMIC_CONFIG_KEY } from '../render/config-map.js';
import { isObserverId, serverIdsUpTo } from '../render/names.js';
import type { ReconcileContext } from '../runtime/controller.js';
import type { EnsembleHealth } from '../zookeeper/health.js';
import { parseServerLines } from '../zookeeper/readings.js';
import type { ReconcilerDependencies } from './dependencies.js';
import { digestUsersFingerprint } from './digest-users.js';
import { sessionServers } from './member-move-act.js';
import { toMemberPod } from './member-pods.js';
import { nextObserverStep, observerPodFloor } from './observer-scaling.js';
import { memberClaimOf, nextScalingStep, REMOVED_MEMBER_ANNOTATION, type ScalingStep } from './scaling.js';
import type { ClusterSnapshot } from './snapshot.js';
import { failsAs } from './step-failure.js';

export type { ScalingStep } from './scaling.js';

export interface MembershipPlan {
  /** Member pods the StatefulSet keeps. */
  podCount: number;
  /**
   * Observer pods the observer StatefulSet keeps; undefined when the cluster has none and asks
   * for none (no observer StatefulSet is rendered).
   */
  observerPodCount?: number;
  /** The StatefulSet's replicas were below the committed voters (changed outside the operator). */
  restoredFrom?: number;
  /** Server ids the dynamic config lists: the committed voters and observers new pods start with. */
  members: number[];
  /**
   * Undefined while the ensemble has not formed, or its members could not be read. The voters'
   * step while they change; once they have settled (`done`), the observers' step.
   */
  scaling?: ScalingStep;
}

export function planMembership(
  snapshot: ClusterSnapshot,
  /** Whether the ensemble exists already (`ensembleFormation`). */
  formed: boolean,
  /** The TLS rungs rendered now: new pods start on them, and members join with their line. */
  tls: TlsPhase,
): MembershipPlan {
  const { cluster, spec, pods, health } = snapshot;
  const { namespace, name } = cluster.metadata;
  const liveReplicas = (snapshot.live.statefulSet as V1StatefulSet | undefined)?.spec?.replicas;
  const configMap = snapshot.live.configMap as V1ConfigMap | undefined;
  const renderedDynamic = configMap?.data?.[DYNAMIC_CONFIG_KEY];
  const committed = committedVoters(health, renderedDynamic);
  const observers = committedObservers(health, renderedDynamic);
  const floor = Math.max(0, ...committed);
  const live = liveReplicas === undefined ? undefined : Math.max(liveReplicas, floor);
  const restored = liveReplicas !== undefined && liveReplicas < floor ? { restoredFrom: liveReplicas } : {};
  // Observers join a formed ensemble only; the observer StatefulSet never drops a committed one.
  const liveObservers = (snapshot.live.observerStatefulSet as V1StatefulSet | undefined)?.spec?.replicas;
  const observerFloor = observerPodFloor(observers);
  const observerPods =
    liveObservers !== undefined || spec.observers > 0 || observerFloor > 0
      ? { observerPodCount: Math.max(liveObservers ?? 0, observerFloor) }
      : {};
  if (live === undefined && formed && committed.length > 0) {
    // The StatefulSet is gone under a formed ensemble (recreated for new claim sizes, or deleted
    // by hand): it comes back covering the members that exist, never spec.replicas at once, and
    // scaling goes on from there one voter at a time.
    const ordinals = pods.flatMap((pod) => {
      const myid = toMemberPod(name, pod)?.myid;
      return myid === undefined || isObserverId(myid) ? [] : [myid];
    });
    const podCount = Math.max(...committed, ...ordinals);
    return { podCount, ...observerPods, members: [...committed, ...observers] };
  }
  if (live === undefined || !formed) {
    // A new ensemble starts every voter at once: they bootstrap together, voting on empty data.
    const podCount = spec.paused && live !== undefined ? live : spec.replicas;
    return { podCount, ...observerPods, members: serverIdsUpTo(podCount) };
  }
  const members = [...(committed.length > 0 ? committed : serverIdsUpTo(live)), ...observers];
  if (health === undefined) return { podCount: live, ...observerPods, members, ...restored };
  const memberPods = pods.flatMap((pod) => toMemberPod(name, pod) ?? []);
  const common = {
    cluster: { name, namespace },
    spec,
    health,
    paused: spec.paused,
    stepTimeoutMs: spec.stepTimeoutSeconds * 1000,
    desiredRevision: desiredRevision(cluster, tls, digestUsersFingerprint(snapshot.digestUsers)),
    clientOnLoopback: clientOnLoopback(tls),
    now: snapshot.now,
  };
  const voterStep = nextScalingStep({
    ...common,
    desiredReplicas: spec.replicas,
    podCount: live,
    pods: memberPods.filter((pod) => !isObserverId(pod.myid)),
    claims: snapshot.claims.flatMap(
      (claim) => memberClaimOf(name, claim.metadata?.name ?? '', claim.metadata?.annotations) ?? [],
    ),
    reclaimPolicy: spec.storage.ephemeral ? 'Delete' : spec.storage.reclaimPolicy,
  });
  // One membership change at a time: the observers move only once the voters have settled.
  const scaling =
    voterStep.kind !== 'done' || observerPods.observerPodCount === undefined
      ? voterStep
      : nextObserverStep({
          ...common,
          desiredObservers: spec.observers,
          podCount: observerPods.observerPodCount,
          pods: memberPods.filter((pod) => isObserverId(pod.myid)),
        });
  const podCount = scaling.kind === 'raisePodCount' || scaling.kind === 'lowerPodCount' ? scaling.to : live;
  const observerPodCount =
    scaling.kind === 'raiseObserverCount' || scaling.kind === 'lowerObserverCount'
      ? { observerPodCount: scaling.to }
      : observerPods;
  return { podCount, ...observerPodCount, members, scaling, ...restored };
}

/**
 * The committed voters: ZooKeeper's own committed config when a member reports it; otherwise
 * the participants of the rendered dynamic list that every member starts with (none for a
 * cluster that has not rendered one yet).
 */
export function committedVoters(health: EnsembleHealth | undefined, renderedDynamic: string | undefined): number[] {
  if (health !== undefined && health.committedVoters.length > 0) return [...health.committedVoters];
  return parseServerLines(renderedDynamic ?? '')
    .filter((member) => member.role === 'participant')
    .map((member) => member.myid);
}

/** The committed observers: ZooKeeper's committed config when a member reports it, else the rendered dynamic list's. */
export function committedObservers(health: EnsembleHealth | undefined, renderedDynamic: string | undefined): number[] {
  if (health !== undefined && health.committedVoters.length > 0) return [...health.committedObservers];
  return parseServerLines(renderedDynamic ?? '')
    .filter((member) => member.role === 'observer')
    .map((member) => member.myid);
}

/**
 * Carries out a scaling step other than `done` (pod-count changes were applied already with the
 * StatefulSet). A refused reconfig fails as `ReconfigFailed`, a refused claim change as
 * `ClaimChangeFailed`, each naming the step.
 */
export async function takeScalingStep(
  deps: ReconcilerDependencies,
  snapshot: ClusterSnapshot,
  step: ScalingStep,
  superPassword: string,
  ctx: ReconcileContext,
): Promise<void> {
  const { cluster, pods, health } = snapshot;
  const { namespace } = cluster.metadata;
  const note = (type: 'Normal' | 'Warning') =>
    step.kind === 'done'
      ? Promise.resolve(false)
      : deps.events.record(cluster, type, step.reason.code, step.reason.message);
  // Sessions go to members that serve and stay in the new config, at the client port of their
  // committed line: a member waiting to move to new ports listens there.
  const membership = () =>
    deps.membership(
      sessionServers(snapshot, health, step.kind === 'removeMember' ? step.myid : undefined),
      superPassword,
    );
  switch (step.kind) {
    case 'done':
      return;
    case 'wait':
      ctx.logger.debug('scaling waits', { reason: step.reason.code, message: step.reason.message });
      if (step.stalled) await note('Warning');
      return;
    case 'raisePodCount':
    case 'lowerPodCount':
    case 'raiseObserverCount':
    case 'lowerObserverCount':
      ctx.logger.info(step.reason.message, { podCount: step.to });
      await note('Normal');
      return;
    case 'addMember':
      ctx.logger.info(step.reason.message, { myid: step.myid, fromVersion: step.fromVersion });
      await failsAs('ReconfigFailed', `adding server ${step.myid} to config ${step.fromVersion}`, () =>
        membership().add(step.serverLine, step.fromVersion),
      );
      await note('Normal');
      return;
    case 'removeMember':
      ctx.logger.info(step.reason.message, { myid: step.myid, fromVersion: step.fromVersion });
      await failsAs('ReconfigFailed', `removing server ${step.myid} from config ${step.fromVersion}`, () =>
        membership().remove(step.myid, step.fromVersion),
      );
      await note('Normal');
      return;
    case 'commitWrite':
      ctx.logger.info(step.reason.message, { version: step.version });
      await failsAs('ReconfigFailed', `the write that activates config ${step.version}`, () =>
        membership().commitWrite(),
      );
      await note('Normal');
      return;
    case 'deleteClaim':
      ctx.logger.info(step.reason.message, { claim: step.claim });
      await failsAs('ClaimChangeFailed', `deleting claim ${step.claim}`, () =>
        deps.writer.deleteClaim(namespace, step.claim),
      );
      await note('Normal');
      return;
    case 'markClaim':
      ctx.logger.info(step.reason.message, { claim: step.claim });
      await failsAs('ClaimChangeFailed', `marking claim ${step.claim} as removed`, () =>
        deps.writer.markClaim(namespace, step.claim, REMOVED_MEMBER_ANNOTATION, step.version),
      );
      await note('Normal');
      return;
    case 'replaceJoiner': {
      const uid = pods.find((pod) => pod.metadata?.name === step.pod)?.metadata?.uid;
      if (uid === undefined) return;
      // An eviction, like every restart, so a node drain's budget is respected; a refusal is
      // planned again on the next pass.
      const outcome = await failsAs('EvictionFailed', `evicting joiner ${step.pod}`, () =>
        deps.writer.evictPod(namespace, step.pod, uid),
      );
      if (outcome.kind !== 'evicted') {
        ctx.logger.info('replacing the joiner waits', { pod: step.pod, outcome: outcome.kind });
        return;
      }
      ctx.logger.info(step.reason.message, { pod: step.pod });
      await note('Normal');
      return;
    }
  }
}
