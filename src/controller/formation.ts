/**
 * Whether the ensemble exists already, from evidence: ZooKeeper's answers and the member
 * claims, never the resource's own status (which is empty again after a delete and re-create
 * over retained claims, a restore of the spec from a backup, or failing status writes). Pure.
 *
 * It decides the bootstrap flag: only the members of a brand-new ensemble may start on an empty
 * volume and vote (the start script's `initialize` marker). Once the ensemble exists, a member
 * on an empty volume must sync from the leader first; two such members voting together would
 * elect a leader with no data and truncate everyone else's.
 *
 * Wrongly "new" can lose data; wrongly "formed" only keeps members from voting on empty volumes
 * until someone looks. So any one piece of evidence counts:
 * 1. a member serves: only an ensemble with a quorum serves clients;
 * 2. a data holder (a member's claim, or its pod for ephemeral storage) carries FORMED_ANNOTATION:
 *    its member was seen synced with a leader, recorded on the object whose lifetime is the data's,
 *    so that it outlives the resource, its status and the operator;
 * 3. a data holder is older than the resource: it was made for an earlier cluster of the same name
 *    and may hold that ensemble's data (this also covers clusters formed before claims were
 *    annotated).
 */
import { ANNOTATION_PREFIX } from '../api/constants.js';
import type { EnsembleHealth } from '../zookeeper/health.js';

/** On a data holder: the config version (hex) of the ensemble its member was seen synced in. */
export const FORMED_ANNOTATION = `${ANNOTATION_PREFIX}/synced-in-config-version`;

/** A member's claim, or its pod when storage is ephemeral: what holds its data. */
export interface DataHolder {
  kind: 'claim' | 'pod';
  name: string;
  myid: number;
  /** The value of FORMED_ANNOTATION, when the claim carries it. */
  syncedInConfigVersion?: string;
  createdAt?: Date;
}

export interface FormationInput {
  health: EnsembleHealth | undefined;
  holders: readonly DataHolder[];
  /** The ZooKeeperCluster's creationTimestamp. */
  clusterCreatedAt?: Date;
}

export type Formation = { formed: true; evidence: string } | { formed: false };

export function ensembleFormation(input: FormationInput): Formation {
  const serving = input.health?.members.find((member) => member.serving);
  if (serving !== undefined)
    return { formed: true, evidence: `server ${serving.myid} (${serving.pod}) serves clients` };
  const annotated = input.holders.find((holder) => holder.syncedInConfigVersion !== undefined);
  if (annotated !== undefined) {
    return {
      formed: true,
      evidence: `${annotated.kind} ${annotated.name} holds data of server ${annotated.myid}, seen synced in config version ${annotated.syncedInConfigVersion}`,
    };
  }
  const { clusterCreatedAt } = input;
  const older =
    clusterCreatedAt === undefined
      ? undefined
      : input.holders.find((holder) => holder.createdAt !== undefined && holder.createdAt < clusterCreatedAt);
  if (older !== undefined) {
    return {
      formed: true,
      evidence: `${older.kind} ${older.name} is older than the cluster resource, so it may hold an earlier ensemble's data`,
    };
  }
  return { formed: false };
}

/**
 * The data holders to annotate now: those of members ZooKeeper reports synced with the single
 * leader in a committed config, which carry no annotation yet. One write per holder.
 */
export function holdersToMarkFormed(
  health: EnsembleHealth | undefined,
  holders: readonly DataHolder[],
): { holder: DataHolder; configVersion: string }[] {
  const configVersion = health?.configVersion;
  if (health === undefined || configVersion === undefined || health.leader === undefined) return [];
  const synced = new Set(health.members.filter((member) => member.synced).map((member) => member.myid));
  return holders
    .filter((holder) => synced.has(holder.myid) && holder.syncedInConfigVersion === undefined)
    .map((holder) => ({ holder, configVersion }));
}
