/**
 * Growing the members' volumes, between the pure planner (`storage-resize.ts`) and the world:
 * what the planner is given (the live StatefulSet's claim template, the member claims) and the
 * step it chose, carried out (claims patched, the StatefulSet deleted with its pods orphaned).
 */
import type { V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import type { ReconcileContext } from '../runtime/controller.js';
import { classifyKubeError } from '../runtime/kube-errors.js';
import type { ReconcilerDependencies } from './dependencies.js';
import { DATA_CLAIM_TEMPLATE, memberClaimOf } from './scaling.js';
import type { ClusterSnapshot } from './snapshot.js';
import { failsAs, StepFailed } from './step-failure.js';
import type { SizedClaim, StorageResizeInput, StorageStep } from './storage-resize.js';

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

/** What the storage planner is given, from the snapshot. */
export function storageInput(
  snapshot: Pick<ClusterSnapshot, 'cluster' | 'spec' | 'live' | 'claims'>,
): StorageResizeInput {
  const { namespace, name } = snapshot.cluster.metadata;
  const { spec } = snapshot;
  const statefulSet = snapshot.live.statefulSet as V1StatefulSet | undefined;
  const podCount = statefulSet?.spec?.replicas ?? 0;
  // Claims of the members the StatefulSet runs now; a removed member's claim is not grown.
  const claims = snapshot.claims.flatMap((claim) => {
    const member = memberClaimOf(name, claim.metadata?.name ?? '', claim.metadata?.annotations);
    return member !== undefined && !member.markedRemoved && member.myid <= podCount ? [{ member, claim }] : [];
  });
  return {
    cluster: { namespace, name },
    desiredSize: spec.storage.ephemeral ? undefined : spec.storage.size,
    templateSize: templateSizeOf(statefulSet),
    // In server-id order, so steps and their messages do not depend on the cache's order.
    claims: claims
      .sort((a, b) => a.member.myid - b.member.myid)
      .map(({ member, claim }) => sizedClaim(member.myid, claim)),
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
      const uid = snapshot.live.statefulSet?.metadata?.uid;
      if (uid === undefined) throw new Error(`cluster ${namespace}/${name}: the StatefulSet to recreate has no uid`);
      ctx.logger.info(step.reason.message);
      await failsAs('StatefulSetRecreateFailed', `deleting StatefulSet ${name} (pods kept) to recreate it`, () =>
        deps.writer.deleteStatefulSetKeepingPods(namespace, name, uid),
      );
      await deps.events.record(cluster, 'Normal', step.reason.code, step.reason.message);
      return;
    }
  }
}
