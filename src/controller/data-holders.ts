/**
 * The objects whose lifetime is a member's data: its claim, or its pod when storage is
 * ephemeral (an emptyDir lives exactly as long as the pod). They carry the evidence that the
 * ensemble formed (`formation.ts`): read from the cache here, and marked once their member is
 * seen synced with the leader.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ReconcileContext } from '../runtime/controller.js';
import type { ReconcilerDependencies } from './dependencies.js';
import { type DataHolder, FORMED_ANNOTATION } from './formation.js';
import { toMemberPod } from './member-pods.js';
import { memberClaimOf } from './scaling.js';
import type { ClusterSnapshot } from './snapshot.js';
import { failsAs } from './step-failure.js';

/** A member's data holder from its object's metadata: the mark and the creation time, when present. */
function holder(
  kind: DataHolder['kind'],
  member: { name: string; myid: number } | undefined,
  metadata: V1ObjectMeta | undefined,
): DataHolder[] {
  if (member === undefined) return [];
  const version = metadata?.annotations?.[FORMED_ANNOTATION];
  return [
    {
      kind,
      name: member.name,
      myid: member.myid,
      ...(version === undefined ? {} : { syncedInConfigVersion: version }),
      ...(metadata?.creationTimestamp === undefined ? {} : { createdAt: new Date(metadata.creationTimestamp) }),
    },
  ];
}

/** The cluster's data holders as the formation evidence sees them. */
export function dataHolders(snapshot: Pick<ClusterSnapshot, 'cluster' | 'spec' | 'pods' | 'claims'>): DataHolder[] {
  const { name } = snapshot.cluster.metadata;
  if (snapshot.spec.storage.ephemeral) {
    return snapshot.pods.flatMap((pod) => holder('pod', toMemberPod(name, pod), pod.metadata));
  }
  return snapshot.claims.flatMap((claim) =>
    holder('claim', memberClaimOf(name, claim.metadata?.name ?? '', claim.metadata?.annotations), claim.metadata),
  );
}

/** Marks the data holders of members ZooKeeper reports synced (`holdersToMarkFormed`), once per holder. */
export async function markSyncedDataHolders(
  deps: ReconcilerDependencies,
  snapshot: Pick<ClusterSnapshot, 'cluster' | 'pods'>,
  marks: readonly { holder: DataHolder; configVersion: string }[],
  ctx: ReconcileContext,
): Promise<void> {
  const { namespace } = snapshot.cluster.metadata;
  for (const { holder, configVersion } of marks) {
    const what = `marking ${holder.kind} ${holder.name} as holding server ${holder.myid}'s data`;
    if (holder.kind === 'pod') {
      const uid = snapshot.pods.find((pod) => pod.metadata?.name === holder.name)?.metadata?.uid;
      if (uid === undefined) continue;
      await failsAs('DataHolderMarkFailed', what, () =>
        deps.writer.annotatePod(namespace, holder.name, uid, FORMED_ANNOTATION, configVersion),
      );
    } else {
      await failsAs('DataHolderMarkFailed', what, () =>
        deps.writer.markClaim(namespace, holder.name, FORMED_ANNOTATION, configVersion),
      );
    }
    ctx.logger.info(`marked ${holder.kind} ${holder.name}: server ${holder.myid} synced in config ${configVersion}`);
  }
}
