/**
 * Growing the members' volumes, between the pure planner (`storage-resize.ts`) and the world:
 * what the planner is given (each live member StatefulSet's claim template and its members'
 * claims, voters' and observers') and the step it chose, carried out (claims patched, one
 * StatefulSet deleted with its pods orphaned).
 */
import type { V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import { myidOfOrdinal, observerIdOfOrdinal } from '../render/names.js';
import type { ReconcileContext } from '../runtime/controller.js';
import { classifyKubeError } from '../runtime/kube-errors.js';
import type { ReconcilerDependencies } from './dependencies.js';
import { DATA_CLAIM_TEMPLATE, dataClaimOrdinal, REMOVED_MEMBER_ANNOTATION } from './scaling.js';
import { type ClusterSnapshot, type ObjectField, objectIdentity } from './snapshot.js';
import { failsAs, StepFailed } from './step-failure.js';
import type { ClaimGroup, SizedClaim, StorageResizeInput, StorageStep } from './storage-resize.js';

/** The size of the live StatefulSet's data claim template, if it has one. */
export function templateSizeOf(statefulSet: V1StatefulSet | undefined): string | undefined {
  const template = statefulSet?.spec?.volumeClaimTemplates?.find((t) => t.metadata?.name === DATA_CLAIM_TEMPLATE);
  return template?.spec?.resources?.requests?.storage;
}

function sizedClaim(myid: number, claim: V1PersistentVolumeClaim): SizedClaim {
  const pending = (claim.status?.conditions ?? []).find(
    (c) => c.type === 'FileSystemResizePending' && c.status === 'True',
  );
  return {
    name: claim.metadata?.name ?? '',
    myid,
    requested: claim.spec?.resources?.requests?.storage,
    capacity: claim.status?.capacity?.storage,
    // Without a transition time nothing shows that a pod predates it: counted from the epoch, so
    // no pod is restarted for it.
    fileSystemResizePendingSince: pending === undefined ? undefined : new Date(pending.lastTransitionTime ?? 0),
  };
}

/**
 * The member StatefulSets, each with how its pods' ordinals map to server ids (`names.ts`): the
 * voters' first, then the observers'.
 */
const MEMBER_STATEFUL_SETS = [
  { field: 'statefulSet', myidOf: myidOfOrdinal },
  { field: 'observerStatefulSet', myidOf: observerIdOfOrdinal },
] as const satisfies readonly { field: ObjectField; myidOf: (ordinal: number) => number }[];

/** What the storage planner is given, from the snapshot: one group per member StatefulSet that exists. */
export function storageInput(
  snapshot: Pick<ClusterSnapshot, 'cluster' | 'spec' | 'live' | 'claims'>,
): StorageResizeInput {
  const { namespace, name } = snapshot.cluster.metadata;
  const { spec } = snapshot;
  const groups = MEMBER_STATEFUL_SETS.flatMap(({ field, myidOf }): ClaimGroup[] => {
    const statefulSet = snapshot.live[field] as V1StatefulSet | undefined;
    if (statefulSet === undefined) return [];
    const statefulSetName = objectIdentity(snapshot.cluster, field).name;
    const podCount = statefulSet.spec?.replicas ?? 0;
    // Claims of the members the StatefulSet runs now; a removed member's claim is not grown.
    const claims = snapshot.claims.flatMap((claim) => {
      const ordinal = dataClaimOrdinal(statefulSetName, claim.metadata?.name ?? '');
      const removed = claim.metadata?.annotations?.[REMOVED_MEMBER_ANNOTATION] !== undefined;
      return ordinal !== undefined && !removed && ordinal < podCount ? [{ ordinal, claim }] : [];
    });
    return [
      {
        statefulSet: statefulSetName,
        templateSize: templateSizeOf(statefulSet),
        // In ordinal order, so steps and their messages do not depend on the cache's order.
        claims: claims
          .sort((a, b) => a.ordinal - b.ordinal)
          .map(({ ordinal, claim }) => sizedClaim(myidOf(ordinal), claim)),
      },
    ];
  });
  return {
    cluster: { namespace, name },
    desiredSize: spec.storage.ephemeral ? undefined : spec.storage.size,
    groups,
  };
}

/** Takes the storage step `nextStorageStep` chose; only while no scaling step or restart is under way. */
export async function takeStorageStep(
  deps: ReconcilerDependencies,
  snapshot: Pick<ClusterSnapshot, 'cluster' | 'live'>,
  step: StorageStep,
  ctx: ReconcileContext,
): Promise<void> {
  const { cluster } = snapshot;
  const { namespace, name } = cluster.metadata;
  switch (step.kind) {
    case 'done':
      return;
    case 'waitForVolumes':
      ctx.logger.debug('volumes grow', { message: step.reason.message });
      return;
    case 'refuseShrink':
      await deps.events.record(cluster, 'Warning', step.reason.code, step.reason.message);
      return;
    case 'resizeClaims':
      ctx.logger.info(step.reason.message, { claims: step.claims, size: step.size });
      for (const claim of step.claims) {
        try {
          await deps.writer.resizeClaim(namespace, claim, step.size);
        } catch (error) {
          throw new StepFailed(
            'VolumeResizeRefused',
            `cluster ${namespace}/${name}: growing claim ${claim} to ${step.size} was refused: ${classifyKubeError(error).message}. The claim's StorageClass must allow volume expansion (allowVolumeExpansion: true)`,
            { cause: error },
          );
        }
      }
      await deps.events.record(cluster, 'Normal', step.reason.code, step.reason.message);
      return;
    case 'recreateStatefulSet': {
      const target = step.statefulSet;
      const live = MEMBER_STATEFUL_SETS.map(({ field }) => snapshot.live[field]).find(
        (statefulSet) => statefulSet?.metadata?.name === target,
      );
      const uid = live?.metadata?.uid;
      if (uid === undefined) {
        throw new Error(
          `cluster ${namespace}/${name}: the StatefulSet ${target} to recreate is not live or has no uid`,
        );
      }
      ctx.logger.info(step.reason.message);
      await failsAs('StatefulSetRecreateFailed', `deleting StatefulSet ${target} (pods kept) to recreate it`, () =>
        deps.writer.deleteStatefulSetKeepingPods(namespace, target, uid),
      );
      await deps.events.record(cluster, 'Normal', step.reason.code, step.reason.message);
      return;
    }
  }
}
