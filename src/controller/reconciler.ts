/**
 * The ZooKeeperCluster reconciler: observe (the informer caches), decide (pure renderers,
 * the no-op check, the status computation), act (server-side apply, the status subresource,
 * Events). It takes only a key; everything else it reads itself, so a replayed or coalesced
 * key is harmless. When nothing changed it makes no write call at all.
 *
 * Steps, in order:
 * 1. read the cluster; gone or being deleted → nothing to do (children are garbage-collected
 *    through their owner references, claims through the StatefulSet's retention policy);
 * 2. review the spec; errors stop every action and are reported (status, Event);
 * 3. render the desired objects and apply those the live objects do not already satisfy;
 * 4. compute the status and apply it when it differs from the stored one.
 */
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { ZooKeeperCluster } from '../api/types.js';
import { reviewSpec, type SpecProblem } from '../api/validation.js';
import { canonicalJson } from '../render/canonical-json.js';
import { type DesiredObjects, renderCluster } from '../render/cluster.js';
import type { ReconcileContext, ReconcileOutcome } from '../runtime/controller.js';
import type { EventTarget, EventType } from '../runtime/event-recorder.js';
import { classifyKubeError } from '../runtime/kube-errors.js';
import { parseObjectKey } from '../runtime/object-key.js';
import type { OwnedObject } from '../runtime/server-side-apply.js';
import { isSatisfiedBy } from './object-diff.js';
import { computeStatus, hasFormed } from './status.js';

export type OwnedKind = 'ConfigMap' | 'Service' | 'StatefulSet' | 'PodDisruptionBudget';

/** Read access to the informer caches. */
export interface ClusterCache {
  cluster(namespace: string, name: string): ZooKeeperCluster | undefined;
  owned(kind: OwnedKind, namespace: string, name: string): OwnedObject | undefined;
  /** Pods labelled as members of the cluster. */
  memberPods(namespace: string, clusterName: string): V1Pod[];
}

/** The writes a reconcile may make. */
export interface ClusterWriter {
  apply(object: OwnedObject): Promise<void>;
  applyClusterStatus(namespace: string, name: string, status: ZooKeeperCluster['status'] & object): Promise<void>;
}

export interface Events {
  record(target: EventTarget, type: EventType, reason: string, message: string): Promise<boolean>;
}

export interface ReconcilerDependencies {
  cache: ClusterCache;
  writer: ClusterWriter;
  events: Events;
  now: () => Date;
  /** How often to look again while the cluster is not yet Running. */
  pollIntervalMs?: number;
}

/** Apply order: configuration and Services before the pods that use them. */
const APPLY_ORDER: readonly (keyof Omit<DesiredObjects, 'revision'>)[] = [
  'configMap',
  'headlessService',
  'clientService',
  'statefulSet',
  'podDisruptionBudget',
];

export function clusterReconciler(deps: ReconcilerDependencies) {
  const pollIntervalMs = deps.pollIntervalMs ?? 10_000;

  return async (key: string, ctx: ReconcileContext): Promise<ReconcileOutcome | undefined> => {
    const { namespace, name } = parseObjectKey(key);
    const cluster = deps.cache.cluster(namespace ?? '', name);
    if (cluster === undefined || cluster.metadata.deletionTimestamp !== undefined) return undefined;
    const warn = (reason: string, message: string) => deps.events.record(cluster, 'Warning', reason, message);

    const review = reviewSpec(cluster.spec);
    for (const problem of [...review.errors, ...review.warnings]) await warn(problem.reason, problem.message);

    let desired: DesiredObjects | undefined;
    let applyFailure: SpecProblem | undefined;
    let failure: unknown;
    if (review.errors.length === 0) {
      // Paused: no membership change, so the StatefulSet keeps the pod count it has.
      const liveStatefulSet = deps.cache.owned('StatefulSet', cluster.metadata.namespace, cluster.metadata.name);
      const pausedPodCount = cluster.spec.paused
        ? (liveStatefulSet as V1StatefulSet | undefined)?.spec?.replicas
        : undefined;
      desired = renderCluster({
        cluster,
        bootstrap: !hasFormed(cluster.status),
        ...(pausedPodCount === undefined ? {} : { podCount: pausedPodCount }),
      });
      try {
        await applyChanged(deps, cluster, desired, ctx);
      } catch (error) {
        failure = error;
        applyFailure = describeApplyFailure(error);
        await warn(applyFailure.reason, applyFailure.message);
      }
    } else {
      ctx.logger.warn('spec rejected; no action taken', { problems: review.errors.map((p) => p.message) });
    }

    const status = computeStatus({
      cluster,
      pods: deps.cache.memberPods(cluster.metadata.namespace, cluster.metadata.name),
      desiredRevision: desired?.revision,
      specErrors: review.errors,
      applyFailure,
      now: deps.now(),
    });
    if (canonicalJson(status) !== canonicalJson(cluster.status ?? {})) {
      await deps.writer.applyClusterStatus(cluster.metadata.namespace, cluster.metadata.name, status);
      ctx.logger.debug('status updated', { phase: status.phase, ready: status.ready });
    }
    if (failure !== undefined) throw failure;
    return status.phase === 'Running' ? undefined : { requeueAfterMs: pollIntervalMs };
  };
}

async function applyChanged(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  desired: DesiredObjects,
  ctx: ReconcileContext,
): Promise<void> {
  const { namespace } = cluster.metadata;
  for (const field of APPLY_ORDER) {
    const object: OwnedObject = desired[field];
    const kind = object.kind as OwnedKind;
    const objectName = object.metadata?.name ?? '';
    const live = deps.cache.owned(kind, namespace, objectName);
    if (live !== undefined && isSatisfiedBy(object, live)) continue;
    await deps.writer.apply(object);
    const verb = live === undefined ? 'Created' : 'Updated';
    ctx.logger.info(`${verb.toLowerCase()} ${kind} ${objectName}`);
    await deps.events.record(cluster, 'Normal', verb, `${verb} ${kind} ${objectName}`);
  }
}

function describeApplyFailure(error: unknown): SpecProblem {
  const classified = classifyKubeError(error);
  if (classified.kind === 'forbidden') {
    return {
      reason: 'PermissionDenied',
      message: `the operator lacks a permission: ${classified.message}; grant it in the operator's ClusterRole`,
    };
  }
  return { reason: 'ApplyFailed', message: `applying the cluster's objects failed: ${classified.message}` };
}
