/**
 * Growing the members' volumes when `storage.size` grows. Pure: the next step, or why not now.
 *
 * The members' claims come from two StatefulSets, the voters' and the observers' (`names.ts`),
 * each a `ClaimGroup`: its live claim template's size and the claims of the members it runs now.
 * A StatefulSet's volumeClaimTemplates cannot be changed, so the operator keeps applying each
 * live template's size (`appliedClaimSize`) and grows the storage in steps that never touch a
 * running member:
 * 1. `resizeClaims`: raise the request of every member claim, voter or observer, that asks for
 *    less than the spec. The storage driver grows the volume online; the API server refuses when
 *    the claim's StorageClass does not allow volume expansion, and that refusal is reported as it is.
 * 2. `recreateStatefulSet`: once every claim asks for the new size, delete a StatefulSet whose
 *    template is smaller, leaving its pods and claims in place (orphan propagation); the next
 *    reconcile creates it again with the new template and it adopts the running pods. The pod
 *    template is unchanged, so no member restarts; new members get claims of the new size. One
 *    StatefulSet per step, the voters' first.
 * 3. `waitForVolumes`: the claims' capacity follows as the driver finishes. A driver that grows
 *    file systems only when a pod mounts the volume again leaves FileSystemResizePending on the
 *    claim: those members are restarted through the rolling restart (`podsToRemount`).
 * The reconciler takes these steps only while no scaling step or restart is under way and both
 * StatefulSets exist, so a StatefulSet is never missing while members come and go. A smaller
 * size (the CRD refuses it) is never applied: volumes cannot shrink, and the live templates stay.
 */
import { parseQuantity } from '../api/defaults.js';
import type { ClusterRef } from '../render/names.js';
import type { Reason } from './rolling-restart.js';

/** A member's data claim, as the planner sees it. */
export interface SizedClaim {
  name: string;
  /** The member's server id (a voter's ordinal + 1, an observer's OBSERVER_ID_BASE + ordinal + 1). */
  myid: number;
  /** spec.resources.requests.storage */
  requested: string | undefined;
  /** status.capacity.storage, once bound. */
  capacity: string | undefined;
  /**
   * Since when the driver has grown the volume but not its file system, which grows only when a
   * pod mounts it again (condition FileSystemResizePending); undefined when not pending.
   */
  fileSystemResizePendingSince: Date | undefined;
}

/** One StatefulSet of members and the data claims of the members it runs now. */
export interface ClaimGroup {
  /** The StatefulSet's name: the cluster's (voters) or `<cluster>-observer`. */
  statefulSet: string;
  /** Its live data claim template size; undefined while it does not exist. */
  templateSize: string | undefined;
  claims: readonly SizedClaim[];
}

export interface StorageResizeInput {
  cluster: ClusterRef;
  /** spec.storage.size; undefined for ephemeral storage. */
  desiredSize: string | undefined;
  /** The voters' StatefulSet first, then the observers' when the cluster has one. */
  groups: readonly ClaimGroup[];
}

export type StorageStep =
  | { kind: 'done' }
  | { kind: 'resizeClaims'; claims: string[]; size: string; reason: Reason }
  /** `statefulSet`: the name of the one StatefulSet to delete, pods and claims kept. */
  | { kind: 'recreateStatefulSet'; statefulSet: string; reason: Reason }
  | { kind: 'waitForVolumes'; reason: Reason }
  | { kind: 'refuseShrink'; reason: Reason };

const bytes = (quantity: string | undefined): number => (quantity === undefined ? 0 : parseQuantity(quantity));

/** The size a StatefulSet's claim template must keep: the live one until it is recreated. */
export function appliedClaimSize(input: {
  desiredSize: string | undefined;
  templateSize: string | undefined;
}): string | undefined {
  return input.templateSize ?? input.desiredSize;
}

/** Every member claim of the groups, voters' first, in the order they were given. */
export const claimsOf = (groups: readonly ClaimGroup[]): SizedClaim[] => groups.flatMap((group) => group.claims);

export function nextStorageStep(input: StorageResizeInput): StorageStep {
  const { desiredSize } = input;
  // Only the StatefulSets that exist: one not created yet takes the spec's size when it is.
  const groups = input.groups.filter(
    (group): group is ClaimGroup & { templateSize: string } => group.templateSize !== undefined,
  );
  if (desiredSize === undefined || groups.length === 0) return { kind: 'done' };
  const key = `${input.cluster.namespace}/${input.cluster.name}`;
  const desired = bytes(desiredSize);
  const largest = groups.reduce((a, b) => (bytes(b.templateSize) > bytes(a.templateSize) ? b : a));
  if (desired < bytes(largest.templateSize)) {
    const { templateSize } = largest;
    return {
      kind: 'refuseShrink',
      reason: {
        code: 'StorageShrinkRefused',
        message: `cluster ${key}: storage.size ${desiredSize} is smaller than the members' volumes (${templateSize}, StatefulSet ${largest.statefulSet}); volumes cannot shrink, so they stay at ${templateSize}. Set storage.size back to ${templateSize} or more`,
      },
    };
  }
  const claims = claimsOf(groups);
  const short = claims.filter((claim) => bytes(claim.requested) < desired);
  if (short.length > 0) {
    const names = short.map((claim) => claim.name);
    return {
      kind: 'resizeClaims',
      claims: names,
      size: desiredSize,
      reason: {
        code: 'ResizingVolumes',
        message: `growing the volumes of ${names.join(', ')} to ${desiredSize} (storage.size); members keep running`,
      },
    };
  }
  const outdated = groups.find((group) => desired > bytes(group.templateSize));
  if (outdated !== undefined) {
    return {
      kind: 'recreateStatefulSet',
      statefulSet: outdated.statefulSet,
      reason: {
        code: 'RecreatingStatefulSet',
        message: `every member claim asks for ${desiredSize}; recreating the StatefulSet ${outdated.statefulSet} with the new claim size, leaving its pods and claims in place`,
      },
    };
  }
  const growing = claims.filter((claim) => bytes(claim.capacity) < desired);
  const offline = growing.filter((claim) => claim.fileSystemResizePendingSince !== undefined);
  if (growing.length > 0) {
    return {
      kind: 'waitForVolumes',
      reason: {
        code: 'ResizingVolumes',
        message:
          `waiting for the storage driver to grow ${growing.map((c) => `${c.name} (${c.capacity ?? 'unbound'})`).join(', ')} to ${desiredSize}` +
          (offline.length > 0
            ? `; ${offline.map((c) => c.name).join(', ')} finish when their members restart (FileSystemResizePending), one at a time`
            : ''),
      },
    };
  }
  return { kind: 'done' };
}

/**
 * Member pods to restart so that their grown volumes get their file systems grown: the claim is
 * FileSystemResizePending and the pod was created before that, so it still has the volume
 * mounted from before. A pod created since has mounted it again: restarting it once more would
 * not help (and could loop), so it is left alone. The restarts go through the rolling restart,
 * one member at a time, the leader last.
 */
export function podsToRemount(
  claims: readonly SizedClaim[],
  pods: readonly { name: string; myid: number; createdAt: Date }[],
): string[] {
  return pods
    .filter((pod) => {
      const since = claims.find((claim) => claim.myid === pod.myid)?.fileSystemResizePendingSince;
      return since !== undefined && pod.createdAt < since;
    })
    .map((pod) => pod.name);
}
