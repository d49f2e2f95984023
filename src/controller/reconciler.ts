/**
 * The ZooKeeperCluster reconciler: observe (the informer caches), decide (pure renderers,
 * the no-op check, the status computation), act (server-side apply, the status subresource,
 * Events). It takes only a key; everything else it reads itself, so a replayed or coalesced
 * key is harmless. When nothing changed it makes no write call at all.
 *
 * Steps, in order:
 * 1. read the cluster; gone or being deleted → nothing to do (children are garbage-collected
 *    through their owner references, claims through the StatefulSet's retention policy); the
 *    same once the API server refused a create because the cluster's namespace is being deleted;
 * 2. review the spec; errors stop every action and are reported (status, Event); then the
 *    super-user Secret: created when missing, and one the cluster does not own (planted before
 *    it existed) stops every action too, reported as SuperUserSecretNotOwned, never used;
 * 3. read every member's state from ZooKeeper itself (srvr, mntr, conf); a member's reading may be
 *    reused from the last second, so steps 4 and 6 plan a step that changes the ensemble again on
 *    readings taken right before it;
 * 4. plan the membership change (scaling by reconfig, one voter per step) from what was read;
 * 5. render the desired objects (the pod count and the dynamic config follow the committed
 *    membership and the scaling step; the claim template keeps the live StatefulSet's size) and
 *    apply those the live objects do not already satisfy (and delete the NetworkPolicy once
 *    the spec turns it off);
 * 6. take the scaling step, if any; otherwise plan the rolling restart (outdated revisions, and
 *    members whose grown volume waits for a remount) and take its one step; once nothing is to
 *    restart, take the next step of growing volumes (`volumes.ts`);
 * 7. compute the status and apply it when it differs from the stored one.
 * While anything is not perfect it looks again every few seconds (and on every pod event).
 */
import type {
  V1ConfigMap,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { resolveSpec } from '../api/defaults.js';
import type { ZooKeeperCluster } from '../api/types.js';
import { reviewSpec, type SpecProblem } from '../api/validation.js';
import { canonicalJson } from '../render/canonical-json.js';
import { type DesiredObjects, ownerReference, renderCluster } from '../render/cluster.js';
import { objectNames } from '../render/names.js';
import type { OperatorPod } from '../render/network-policy.js';
import type { ReconcileContext, ReconcileOutcome } from '../runtime/controller.js';
import type { EventTarget, EventType } from '../runtime/event-recorder.js';
import { classifyKubeError, isNamespaceTerminating, isNotFound } from '../runtime/kube-errors.js';
import type { OwnedObject, SuperUserSecret } from '../runtime/kube-writer.js';
import { parseObjectKey } from '../runtime/object-key.js';
import type { EnsembleReader } from '../zookeeper/ensemble-reader.js';
import { assessEnsemble, type EnsembleHealth } from '../zookeeper/health.js';
import type { MembershipClient } from '../zookeeper/reconfig-client.js';
import { dataHolders, markSyncedDataHolders } from './data-holders.js';
import { ensembleFormation, type Formation } from './formation.js';
import { toMemberAddress, toMemberPod } from './member-pods.js';
import { planMembership, type ScalingStep, takeScalingStep } from './membership.js';
import { firstDifference } from './object-diff.js';
import {
  afterEviction,
  type EvictionOutcome,
  type MemberPod,
  nextRollStep,
  type RestartStep,
  type RollStep,
} from './rolling-restart.js';
import { computeStatus } from './status.js';
import { appliedClaimSize, podsToRemount, type StorageStep } from './storage-resize.js';
import { growVolumes, storageInput, templateSizeOf, VolumeResizeError } from './volumes.js';

export type OwnedKind = 'ConfigMap' | 'Service' | 'StatefulSet' | 'PodDisruptionBudget' | 'NetworkPolicy';

/** Read access to the informer caches. */
export interface ClusterCache {
  cluster(namespace: string, name: string): ZooKeeperCluster | undefined;
  owned(kind: OwnedKind, namespace: string, name: string): OwnedObject | undefined;
  /** Pods labelled as members of the cluster. */
  memberPods(namespace: string, clusterName: string): V1Pod[];
  /** PersistentVolumeClaims labelled as the cluster's. */
  claims(namespace: string, clusterName: string): V1PersistentVolumeClaim[];
}

/** The writes a reconcile may make. */
export interface ClusterWriter {
  apply(object: OwnedObject): Promise<void>;
  /**
   * Evicts a member pod to restart it, only if it still has this uid (never its successor). The
   * cluster's PodDisruptionBudget may refuse; a refusal is an outcome, not an error.
   */
  evictPod(namespace: string, name: string, uid: string): Promise<EvictionOutcome>;
  /**
   * The cluster's super-user Secret, created (owned by `owner`) when missing. One of that name
   * that `owner` does not own is reported as `notOwned`, never used.
   */
  superUserSecret(namespace: string, secretName: string, owner: V1OwnerReference): Promise<SuperUserSecret>;
  deleteClaim(namespace: string, name: string): Promise<void>;
  /** Raises a claim's storage request. */
  resizeClaim(namespace: string, name: string, size: string): Promise<void>;
  /** Deletes the cluster's NetworkPolicy, only if it still has this uid. */
  deleteNetworkPolicy(namespace: string, name: string, uid: string): Promise<void>;
  /** Deletes the StatefulSet, only if it still has this uid, leaving its pods and claims. */
  deleteStatefulSetKeepingPods(namespace: string, name: string, uid: string): Promise<void>;
  markClaim(namespace: string, name: string, annotation: string, version: string): Promise<void>;
  /** Annotates a member pod, only if it still has this uid. */
  annotatePod(namespace: string, name: string, uid: string, annotation: string, value: string): Promise<void>;
  applyClusterStatus(namespace: string, name: string, status: ZooKeeperCluster['status'] & object): Promise<void>;
}

/** Opens ZooKeeper sessions for reconfiguration: `servers` are `ip:clientPort`. */
export type MembershipFactory = (servers: readonly string[], superPassword: string) => MembershipClient;

export interface Events {
  record(target: EventTarget, type: EventType, reason: string, message: string): Promise<boolean>;
}

/** Per-cluster gauges; `undefined` health means the members could not be read this time. */
export interface HealthObserver {
  observe(cluster: ZooKeeperCluster, health: EnsembleHealth | undefined): void;
}

export interface ReconcilerDependencies {
  cache: ClusterCache;
  writer: ClusterWriter;
  events: Events;
  ensemble: EnsembleReader;
  membership: MembershipFactory;
  health?: HealthObserver;
  /** The operator's own pods, admitted to the client port by each cluster's NetworkPolicy. */
  operatorPod?: OperatorPod;
  now: () => Date;
  /** How often to look again while anything is not perfect. */
  pollIntervalMs?: number;
  /** How often to look again when all is well (pod events trigger reconciles in between). */
  resyncIntervalMs?: number;
}

/**
 * Apply order: configuration and Services before the pods that use them, and the NetworkPolicy
 * before the pods it guards.
 */
const APPLY_ORDER: readonly (keyof Omit<DesiredObjects, 'revision'>)[] = [
  'configMap',
  'networkPolicy',
  'headlessService',
  'clientService',
  'statefulSet',
  'podDisruptionBudget',
];

export function clusterReconciler(deps: ReconcilerDependencies) {
  const pollIntervalMs = deps.pollIntervalMs ?? 2_000;
  const resyncIntervalMs = deps.resyncIntervalMs ?? 30_000;
  /**
   * Clusters (key → uid) whose namespace the API server said is being deleted. A namespace never
   * stops being deleted, and its clusters go with it: they are left alone until they are gone.
   */
  const inDeletedNamespace = new Map<string, string>();

  return async (key: string, ctx: ReconcileContext): Promise<ReconcileOutcome | undefined> => {
    const { namespace, name } = parseObjectKey(key);
    const cluster = deps.cache.cluster(namespace ?? '', name);
    if (cluster === undefined || cluster.metadata.deletionTimestamp !== undefined) {
      inDeletedNamespace.delete(key);
      return undefined;
    }
    const uid = cluster.metadata.uid;
    if (uid !== undefined && inDeletedNamespace.get(key) === uid) return undefined;
    const warn = (reason: string, message: string) => deps.events.record(cluster, 'Warning', reason, message);

    const review = reviewSpec(cluster.spec);
    for (const problem of [...review.errors, ...review.warnings]) await warn(problem.reason, problem.message);

    const progress: Progress = {};
    let applyFailure: SpecProblem | undefined;
    let blocker: SpecProblem | undefined;
    let failure: unknown;
    let health: EnsembleHealth | undefined;
    const pods = deps.cache.memberPods(cluster.metadata.namespace, cluster.metadata.name);
    const holders = dataHolders(deps, cluster);
    let formation: Formation = { formed: false };
    if (review.errors.length === 0) {
      try {
        // The Secret comes first: member pods cannot start without the digest it holds.
        const secretName = objectNames(cluster.metadata).superUserSecret;
        const secret = await deps.writer.superUserSecret(
          cluster.metadata.namespace,
          secretName,
          ownerReference(cluster),
        );
        health = await readHealth(deps, cluster, pods);
        formation = ensembleFormation({
          health,
          holders,
          ...(cluster.metadata.creationTimestamp === undefined
            ? {}
            : { clusterCreatedAt: new Date(cluster.metadata.creationTimestamp) }),
        });
        if (secret.kind === 'notOwned') {
          // Its digest would reach every member that starts: nothing is applied or restarted.
          blocker = foreignSecretProblem(cluster, secretName, secret.ownerReferences);
          ctx.logger.warn(blocker.message, { reason: blocker.reason });
          await warn(blocker.reason, blocker.message);
        } else {
          await markSyncedDataHolders(deps, cluster, holders, health, ctx);
          await act(deps, cluster, pods, health, formation, secret.password, progress, ctx);
        }
      } catch (error) {
        if (uid !== undefined && isNamespaceTerminating(error)) {
          // Refused because the namespace is being deleted (the NamespaceLifecycle admission
          // plugin's own answer), and the garbage collector is removing what this cluster owns:
          // nothing to re-create, report or retry.
          inDeletedNamespace.set(key, uid);
          ctx.logger.info(`namespace ${cluster.metadata.namespace} is being deleted: leaving cluster ${name} alone`, {
            refused: classifyKubeError(error).message,
          });
          return undefined;
        }
        failure = error;
        applyFailure = describeApplyFailure(error);
        await warn(applyFailure.reason, applyFailure.message);
      }
    } else {
      ctx.logger.warn('spec rejected; no action taken', { problems: review.errors.map((p) => p.message) });
    }
    // The freshest view: a step taken in this reconcile was decided on readings taken anew.
    const observed = progress.health ?? health;
    deps.health?.observe(cluster, observed);

    const status = computeStatus({
      cluster,
      pods,
      desiredRevision: progress.desired?.revision,
      specErrors: review.errors,
      blocker,
      applyFailure,
      health: observed,
      roll: progress.roll,
      scaling: progress.scaling,
      storage: progress.storage,
      remount: progress.remount,
      formed: formation.formed,
      now: deps.now(),
    });
    if (canonicalJson(status) !== canonicalJson(cluster.status ?? {})) {
      try {
        await deps.writer.applyClusterStatus(cluster.metadata.namespace, cluster.metadata.name, status);
      } catch (error) {
        // Deleted since the cache showed it (its namespace going, or by hand): nothing left to report on.
        if (!isNotFound(error)) throw error;
        ctx.logger.debug('the cluster is gone; status not written');
        return undefined;
      }
      ctx.logger.debug('status updated', { phase: status.phase, ready: status.ready });
    }
    if (failure !== undefined) throw failure;
    return {
      requeueAfterMs: status.phase === 'Running' || status.phase === 'Paused' ? resyncIntervalMs : pollIntervalMs,
    };
  };
}

/** What a reconcile decided and did, for the status; filled in step by step, so a failure keeps what came before it. */
interface Progress {
  /** ZooKeeper's view read anew before a step that changes the ensemble. */
  health?: EnsembleHealth;
  desired?: DesiredObjects;
  scaling?: ScalingStep;
  roll?: RollStep;
  storage?: StorageStep;
  remount?: string[];
}

/**
 * Steps 4-6: plans membership, applies the rendered objects the live ones do not satisfy, then
 * takes the one step of scaling, else of the rolling restart, else of growing volumes.
 */
async function act(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  pods: readonly V1Pod[],
  health: EnsembleHealth | undefined,
  formation: Formation,
  superPassword: string,
  progress: Progress,
  ctx: ReconcileContext,
): Promise<void> {
  if (formation.formed) ctx.logger.debug('the ensemble exists', { evidence: formation.evidence });
  let plan = planMembership(deps, cluster, pods, health, formation.formed);
  let current = health;
  if (plan.scaling !== undefined && plan.scaling.kind !== 'done' && plan.scaling.kind !== 'wait') {
    current = await readHealthNow(deps, cluster, pods, progress);
    plan = planMembership(deps, cluster, pods, current, formation.formed);
  }
  const scaling = plan.scaling;
  if (scaling !== undefined) progress.scaling = scaling;
  const statefulSet = deps.cache.owned('StatefulSet', cluster.metadata.namespace, cluster.metadata.name) as
    | V1StatefulSet
    | undefined;
  const spec = resolveSpec(cluster.spec);
  const desired = renderCluster({
    cluster,
    bootstrap: !formation.formed,
    podCount: plan.podCount,
    members: plan.members,
    claimSize: appliedClaimSize({
      desiredSize: spec.storage.ephemeral ? undefined : spec.storage.size,
      templateSize: templateSizeOf(statefulSet),
    }),
    operatorPod: deps.operatorPod,
    liveConfigMap: (
      deps.cache.owned('ConfigMap', cluster.metadata.namespace, objectNames(cluster.metadata).configMap) as
        | V1ConfigMap
        | undefined
    )?.data,
    livePods: pods,
  });
  progress.desired = desired;
  await applyChanged(deps, cluster, desired, ctx);
  if (plan.restoredFrom !== undefined) {
    const message = `the StatefulSet was set to ${plan.restoredFrom} replicas outside the operator, fewer than the committed voters; restored to ${plan.podCount}. Change the member count with \`kubectl scale zk/${cluster.metadata.name}\``;
    ctx.logger.warn(message);
    await deps.events.record(cluster, 'Warning', 'StatefulSetReplicasRestored', message);
  }
  if (scaling !== undefined && scaling.kind !== 'done') {
    await takeScalingStep(deps, cluster, pods, current, scaling, superPassword, ctx);
  } else if (current !== undefined) {
    const volumes = storageInput(deps, cluster, statefulSet);
    const memberPods = pods.flatMap((pod) => toMemberPod(cluster.metadata.name, pod) ?? []);
    const remount = podsToRemount(volumes.claims, memberPods);
    progress.remount = remount;
    let roll = planRoll(cluster, desired, memberPods, remount, current, deps.now());
    if (roll.kind === 'restart') {
      current = await readHealthNow(deps, cluster, pods, progress);
      roll = planRoll(cluster, desired, memberPods, remount, current, deps.now());
    }
    progress.roll = roll;
    progress.roll = await takeRollStep(deps, cluster, pods, roll, ctx);
    // Volumes grow only while membership and revisions are settled: the StatefulSet is
    // recreated at most when no member is about to come or go.
    const settled = statefulSet !== undefined && statefulSet.metadata?.deletionTimestamp === undefined;
    if (roll.kind === 'done' && current.available && !spec.paused && settled) {
      progress.storage = await growVolumes(deps, cluster, statefulSet, volumes, ctx);
    }
  }
}

/**
 * A Secret named like the cluster's super-user Secret that the cluster does not own. Says
 * whose it is, and what to do.
 */
function foreignSecretProblem(
  cluster: ZooKeeperCluster,
  secretName: string,
  ownerReferences: readonly V1OwnerReference[],
): SpecProblem {
  const { namespace, name, uid } = cluster.metadata;
  const earlier = ownerReferences.find((owner) => owner.kind === cluster.kind && owner.name === name);
  const whose =
    earlier !== undefined
      ? `it belongs to an earlier ${cluster.kind} named ${name} (uid ${earlier.uid}); the garbage collector deletes it once that one is gone, and the operator then creates this cluster's own`
      : ownerReferences.length > 0
        ? `it is owned by ${ownerReferences.map((owner) => `${owner.kind} ${owner.name}`).join(', ')}, not by this cluster (uid ${uid})`
        : `it has no owner reference to this cluster (uid ${uid}), so the operator did not create it`;
  return {
    reason: 'SuperUserSecretNotOwned',
    message: `Secret ${namespace}/${secretName} already exists and ${whose}. Its password would decide who is ZooKeeper's super user, so the operator does not use it and creates and changes nothing for this cluster. Delete it (\`kubectl -n ${namespace} delete secret ${secretName}\`) and the operator creates its own.`,
  };
}

/** ZooKeeper's view, from readings that may be reused from the last second; undefined without member pods. */
async function readHealth(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  pods: readonly V1Pod[],
): Promise<EnsembleHealth | undefined> {
  const addresses = pods.flatMap((pod) => toMemberAddress(cluster.metadata.name, pod) ?? []);
  if (addresses.length === 0) return undefined;
  const { client } = resolveSpec(cluster.spec).ports;
  return assessEnsemble(await deps.ensemble.read(addresses, { client }));
}

/**
 * ZooKeeper's view from readings taken now, reusing none. A step that changes the ensemble (a
 * restart, a reconfig, a pod count, a claim) is planned again on it right before it is taken, so
 * it is never decided on a reused reading. Costs one reading per step.
 */
async function readHealthNow(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  pods: readonly V1Pod[],
  progress: Progress,
): Promise<EnsembleHealth> {
  const addresses = pods.flatMap((pod) => toMemberAddress(cluster.metadata.name, pod) ?? []);
  const { client } = resolveSpec(cluster.spec).ports;
  progress.health = assessEnsemble(await deps.ensemble.read(addresses, { client }, { fresh: true }));
  return progress.health;
}

function planRoll(
  cluster: ZooKeeperCluster,
  desired: DesiredObjects,
  pods: readonly MemberPod[],
  remount: readonly string[],
  health: EnsembleHealth,
  now: Date,
): RollStep {
  const spec = resolveSpec(cluster.spec);
  const podCount = desired.statefulSet.spec?.replicas ?? spec.replicas;
  return nextRollStep({
    desiredRevision: desired.revision,
    remount,
    expectedMyids: Array.from({ length: podCount }, (_, ordinal) => ordinal + 1),
    pods,
    health,
    paused: spec.paused,
    stepTimeoutMs: spec.stepTimeoutSeconds * 1000,
    now,
  });
}

/**
 * Takes the roll's one step and returns it as taken. A restart is an eviction, so the cluster's
 * PodDisruptionBudget arbitrates between it and anyone else evicting members (a node drain):
 * when the Eviction API refuses, the step becomes a wait with the refusal's own reason, in the
 * status, an Event and the log; the pod is never deleted instead.
 */
async function takeRollStep(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  pods: readonly V1Pod[],
  roll: RollStep,
  ctx: ReconcileContext,
): Promise<RollStep> {
  if (roll.kind === 'wait') {
    ctx.logger.debug('rolling restart waits', { reason: roll.reason.code, message: roll.reason.message });
    if (roll.stalled) await deps.events.record(cluster, 'Warning', roll.reason.code, roll.reason.message);
    return roll;
  }
  if (roll.kind !== 'restart') return roll;
  const taken = await evictMember(deps, cluster, pods, roll);
  if (taken.kind === 'restart') {
    ctx.logger.info(taken.reason.message, { pod: taken.pod, reason: taken.reason.code });
    await deps.events.record(cluster, 'Normal', taken.reason.code, taken.reason.message);
  } else if (taken.kind === 'wait') {
    // The budget's refusals wait for something outside the operator; a vanished target does not.
    const outside = taken.reason.code === 'DisruptionBudgetExhausted' || taken.stalled;
    ctx.logger[outside ? 'warn' : 'info'](taken.reason.message, { pod: roll.pod, reason: taken.reason.code });
    await deps.events.record(cluster, outside ? 'Warning' : 'Normal', taken.reason.code, taken.reason.message);
  }
  return taken;
}

/** Evicts the member the roll restarts, by the uid the cache has for it; returns the step as the Eviction API allowed it. */
async function evictMember(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  pods: readonly V1Pod[],
  roll: RestartStep,
): Promise<RollStep> {
  const { namespace } = cluster.metadata;
  const uid = pods.find((p) => p.metadata?.name === roll.pod)?.metadata?.uid;
  if (uid === undefined)
    throw new Error(`cluster ${namespace}/${cluster.metadata.name}: pod ${roll.pod} to restart is not in the cache`);
  const outcome = await deps.writer.evictPod(namespace, roll.pod, uid);
  return afterEviction(roll, outcome, { namespace, name: objectNames(cluster.metadata).podDisruptionBudget });
}

async function applyChanged(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  desired: DesiredObjects,
  ctx: ReconcileContext,
): Promise<void> {
  const { namespace } = cluster.metadata;
  for (const field of APPLY_ORDER) {
    const object: OwnedObject | undefined = desired[field];
    if (object === undefined) {
      await deleteUnwanted(deps, cluster, field, ctx);
      continue;
    }
    const kind = object.kind as OwnedKind;
    const objectName = object.metadata?.name ?? '';
    const live = deps.cache.owned(kind, namespace, objectName);
    const difference = live === undefined ? undefined : firstDifference(object, live);
    if (live !== undefined && difference === undefined) continue;
    // Being deleted (a StatefulSet recreated for new claim sizes): applied again once it is gone.
    if (live?.metadata?.deletionTimestamp !== undefined) continue;
    await deps.writer.apply(object);
    const verb = live === undefined ? 'Created' : 'Updated';
    ctx.logger.info(`${verb.toLowerCase()} ${kind} ${objectName}`, {
      ...(difference === undefined ? {} : { field: difference, resourceVersion: live?.metadata?.resourceVersion }),
    });
    await deps.events.record(cluster, 'Normal', verb, `${verb} ${kind} ${objectName}`);
  }
}

/** An object the spec no longer asks for (the NetworkPolicy, turned off): deleted if this cluster owns it. */
async function deleteUnwanted(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  field: keyof Omit<DesiredObjects, 'revision'>,
  ctx: ReconcileContext,
): Promise<void> {
  if (field !== 'networkPolicy') return;
  const { namespace, uid } = cluster.metadata;
  const objectName = objectNames(cluster.metadata).networkPolicy;
  const live = deps.cache.owned('NetworkPolicy', namespace, objectName);
  const liveUid = live?.metadata?.uid;
  const owned = live?.metadata?.ownerReferences?.some((owner) => owner.uid === uid && owner.controller === true);
  if (liveUid === undefined || !owned || live?.metadata?.deletionTimestamp !== undefined) return;
  await deps.writer.deleteNetworkPolicy(namespace, objectName, liveUid);
  const message = `Deleted NetworkPolicy ${objectName}: spec.networkPolicy.enabled is false`;
  ctx.logger.info(message);
  await deps.events.record(cluster, 'Normal', 'Deleted', message);
}

function describeApplyFailure(error: unknown): SpecProblem {
  if (error instanceof VolumeResizeError) return { reason: 'VolumeResizeRefused', message: error.message };
  const classified = classifyKubeError(error);
  if (classified.kind === 'forbidden') {
    return {
      reason: 'PermissionDenied',
      message: `the operator lacks a permission: ${classified.message}; grant it in the operator's ClusterRole`,
    };
  }
  return { reason: 'ApplyFailed', message: `applying the cluster's objects failed: ${classified.message}` };
}
