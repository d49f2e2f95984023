/**
 * The cluster's status, computed from what was observed. Pure: the reconciler writes the
 * result only when it differs from the status already stored.
 *
 * Conditions (each with a reason and a message naming the members concerned):
 * - Available: a majority of the desired members serve (a quorum can exist).
 * - Progressing: members are starting, or run an outdated revision.
 * - Degraded: a member is not ready, the spec is invalid, or applying objects failed.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { REVISION_ANNOTATION } from '../api/constants.js';
import { resolveSpec } from '../api/defaults.js';
import type { ZooKeeperCluster, ZooKeeperClusterStatus } from '../api/types.js';
import { imageVersion, type SpecProblem } from '../api/validation.js';
import { objectNames, selectorString } from '../render/names.js';
import { type ConditionInput, findCondition, mergeConditions } from './conditions.js';

export interface StatusInput {
  cluster: ZooKeeperCluster;
  /** The member pods that exist (any phase). */
  pods: readonly V1Pod[];
  /** The revision pods should run; undefined when the spec could not be rendered. */
  desiredRevision: string | undefined;
  /** Problems that stop the operator from acting on the spec. */
  specErrors: readonly SpecProblem[];
  /** Why the last attempt to apply the desired objects failed, if it did. */
  applyFailure?: SpecProblem | undefined;
  now: Date;
}

export const isPodReady = (pod: V1Pod): boolean =>
  pod.metadata?.deletionTimestamp === undefined &&
  (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

const majority = (voters: number): number => Math.floor(voters / 2) + 1;
const names = (pods: readonly V1Pod[]): string => pods.map((p) => p.metadata?.name ?? '?').join(', ');

/**
 * Whether the ensemble has ever had a quorum. Sticky: once Available left its initial reason
 * (Creating), or ZooKeeper reported a committed config, the ensemble exists, and members with
 * empty volumes must sync before they vote (the start script's bootstrap marker turns off).
 */
export function hasFormed(status: ZooKeeperClusterStatus | undefined): boolean {
  const available = findCondition(status?.conditions, 'Available');
  return status?.configVersion !== undefined || (available !== undefined && available.reason !== 'Creating');
}

export function computeStatus(input: StatusInput): ZooKeeperClusterStatus {
  const { cluster, pods, desiredRevision, specErrors, applyFailure, now } = input;
  const previous = cluster.status ?? {};
  const spec = resolveSpec(cluster.spec);
  const sorted = [...pods].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const ready = sorted.filter(isPodReady);
  const notReady = sorted.filter((p) => !isPodReady(p));
  const outdated =
    desiredRevision === undefined
      ? []
      : sorted.filter((p) => p.metadata?.annotations?.[REVISION_ANNOTATION] !== desiredRevision);
  const missing = spec.replicas - sorted.length;
  const available = ready.length >= majority(spec.replicas);
  const everAvailable = available || hasFormed(previous);
  const problem = specErrors[0] ?? applyFailure;

  const conditions: ConditionInput[] = [
    available
      ? {
          type: 'Available',
          status: 'True',
          reason: 'QuorumReady',
          message: `${ready.length} of ${spec.replicas} members ready; a quorum needs ${majority(spec.replicas)}`,
        }
      : {
          type: 'Available',
          status: 'False',
          reason: everAvailable ? 'QuorumLost' : 'Creating',
          message: `${ready.length} of ${spec.replicas} members ready; a quorum needs ${majority(spec.replicas)}`,
        },
    problem !== undefined
      ? { type: 'Degraded', status: 'True', reason: problem.reason, message: problem.message }
      : notReady.length > 0 || missing > 0
        ? {
            type: 'Degraded',
            status: 'True',
            reason: 'MembersNotReady',
            message: [
              notReady.length > 0 ? `not ready: ${names(notReady)}` : '',
              missing > 0 ? `${missing} member pod(s) missing` : '',
            ]
              .filter(Boolean)
              .join('; '),
          }
        : {
            type: 'Degraded',
            status: 'False',
            reason: 'AllMembersReady',
            message: `all ${spec.replicas} members ready`,
          },
    specErrors.length > 0
      ? { type: 'Progressing', status: 'False', reason: 'InvalidSpec', message: 'fix the spec to continue' }
      : missing > 0 || notReady.length > 0
        ? {
            type: 'Progressing',
            status: 'True',
            reason: 'MembersStarting',
            message: `waiting for ${spec.replicas - ready.length} member(s) to serve`,
          }
        : outdated.length > 0
          ? {
              type: 'Progressing',
              status: 'True',
              reason: 'RevisionOutdated',
              message: `members on an outdated revision: ${names(outdated)}`,
            }
          : {
              type: 'Progressing',
              status: 'False',
              reason: 'Reconciled',
              message: 'every member runs the desired revision',
            },
  ];
  const merged = mergeConditions(previous.conditions, conditions, cluster.metadata.generation, now);
  const degraded = findCondition(merged, 'Degraded')?.status === 'True';
  const progressing = findCondition(merged, 'Progressing')?.status === 'True';

  const runningVersions = [
    ...new Set(sorted.map((p) => imageVersion(p.spec?.containers[0]?.image ?? '') ?? 'unknown')),
  ];
  const targetVersion = imageVersion(spec.image);
  const revisions = [...new Set(sorted.map((p) => p.metadata?.annotations?.[REVISION_ANNOTATION] ?? ''))];

  return {
    ...(cluster.metadata.generation === undefined ? {} : { observedGeneration: cluster.metadata.generation }),
    replicas: sorted.length,
    readyReplicas: ready.length,
    ready: `${ready.length}/${spec.replicas}`,
    selector: selectorString(cluster.metadata),
    phase: spec.paused
      ? 'Paused'
      : !available
        ? everAvailable
          ? 'Unavailable'
          : 'Creating'
        : degraded
          ? 'Degraded'
          : progressing
            ? 'Progressing'
            : 'Running',
    conditions: merged,
    ...(previous.leader === undefined ? {} : { leader: previous.leader }),
    ...(previous.members === undefined ? {} : { members: previous.members }),
    ...(previous.quorum === undefined ? {} : { quorum: previous.quorum }),
    ...(previous.configVersion === undefined ? {} : { configVersion: previous.configVersion }),
    ...(runningVersions.length === 1 && runningVersions[0] !== undefined ? { currentVersion: runningVersions[0] } : {}),
    ...(targetVersion === undefined ? {} : { targetVersion }),
    ...(revisions.length === 1 && revisions[0] ? { currentRevision: revisions[0] } : {}),
    ...(desiredRevision === undefined ? {} : { targetRevision: desiredRevision }),
    clientConnectionString: `${objectNames(cluster.metadata).clientService}.${cluster.metadata.namespace}.svc.${spec.clusterDomain}:${spec.ports.client}`,
  };
}
