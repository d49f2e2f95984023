/**
 * The objects whose lifetime is a member's data: its claim, or its pod when storage is
 * ephemeral (an emptyDir lives exactly as long as the pod). They carry the evidence that the
 * ensemble formed (`formation.ts`): read from the cache here, and marked once their member is
 * seen synced with the leader.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { resolveSpec } from '../api/defaults.js';
import type { ZooKeeperCluster } from '../api/types.js';
import type { ReconcileContext } from '../runtime/controller.js';
import type { EnsembleHealth } from '../zookeeper/health.js';
import { type DataHolder, FORMED_ANNOTATION, holdersToMarkFormed } from './formation.js';
import { toMemberPod } from './member-pods.js';
import type { ReconcilerDependencies } from './reconciler.js';
import { memberClaimOf } from './scaling.js';

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
export function dataHolders(deps: Pick<ReconcilerDependencies, 'cache'>, cluster: ZooKeeperCluster): DataHolder[] {
  const { namespace, name } = cluster.metadata;
  if (resolveSpec(cluster.spec).storage.ephemeral) {
    return deps.cache.memberPods(namespace, name).flatMap((pod) => holder('pod', toMemberPod(name, pod), pod.metadata));
  }
  return deps.cache
    .claims(namespace, name)
    .flatMap((claim) =>
      holder('claim', memberClaimOf(name, claim.metadata?.name ?? '', claim.metadata?.annotations), claim.metadata),
    );
}

/** Marks the data holders of members ZooKeeper reports synced, once per holder. */
export async function markSyncedDataHolders(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  holders: readonly DataHolder[],
  health: EnsembleHealth | undefined,
  ctx: ReconcileContext,
): Promise<void> {
  const { namespace } = cluster.metadata;
  for (const { holder, configVersion } of holdersToMarkFormed(health, holders)) {
    if (holder.kind === 'pod') {
      const uid = deps.cache
        .memberPods(namespace, cluster.metadata.name)
        .find((pod) => pod.metadata?.name === holder.name)?.metadata?.uid;
      if (uid === undefined) continue;
      await deps.writer.annotatePod(namespace, holder.name, uid, FORMED_ANNOTATION, configVersion);
    } else {
      await deps.writer.markClaim(namespace, holder.name, FORMED_ANNOTATION, configVersion);
    }
    ctx.logger.info(`marked ${holder.kind} ${holder.name}: server ${holder.myid} synced in config ${configVersion}`);
  }
}
