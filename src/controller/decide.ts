/**
 * Decide: from one snapshot, what the cluster's objects should be and the one step to take now.
 * Pure: the same snapshot gives the same decision, and nothing here reads the resource's status.
 *
 * Order of the planners, each asked only when the one before has nothing to do:
 * 1. whether the ensemble exists (`formation.ts`), from ZooKeeper's answers and the data holders;
 * 0. the TLS rungs to render (`tls-phase.ts`), from the member pods, the live templates and the
 *    committed lines: every object below is rendered for them;
 * 2. membership (`membership.ts` → `scaling.ts`, then `observer-scaling.ts`): the pod counts,
 *    the dynamic member list and a scaling step, one voter at a time, then one observer at a time
 *    once the voters have settled;
 * 3. moving a restarted member to the line spec renders (`member-move.ts`: new ports), one
 *    reconfig at a time, right after the roll replaced its pod;
 * 4. the rolling restart (`rolling-restart.ts`): outdated revisions and members whose grown
 *    volume waits for a remount, one member at a time, observers first, the leader last;
 * 5. growing volumes (`storage-resize.ts`), voters' and observers' alike, only once membership and
 *    revisions are settled, the ensemble is available and both member StatefulSets are live, none
 *    being recreated.
 */
import type { V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import { resolveTls } from '../api/defaults.js';
import { clientOnLoopback, type TlsPhase } from '../api/tls-phases.js';
import { type CaCertificate, caCertificateCurrent, renderCaCertificate } from '../render/cert-manager.js';
import { type DesiredObjects, renderCluster } from '../render/cluster.js';
import { DYNAMIC_CONFIG_KEY } from '../render/config-map.js';
import { observerIdsUpTo, serverIdsUpTo } from '../render/names.js';
import type { OperatorPod } from '../render/network-policy.js';
import { secretText, TRUST_BUNDLE_KEY } from '../render/tls-secrets.js';
import type { OwnedObject } from '../runtime/kube-writer.js';
import {
  type CertificateInput,
  type CertificatePlan,
  membersNeedingCertificates,
  planCertificates,
} from './certificates.js';
import { dataHolders } from './data-holders.js';
import { digestUsersFingerprint } from './digest-users.js';
import { type DataHolder, ensembleFormation, type Formation, holdersToMarkFormed } from './formation.js';
import { type MoveStep, pendingMovesOf, planMove } from './member-move.js';
import { toMemberPod } from './member-pods.js';
import { type MembershipPlan, planMembership, type ScalingStep } from './membership.js';
import { firstDifference } from './object-diff.js';
import { nextRollStep, type RollStep } from './rolling-restart.js';
import { type ClusterSnapshot, OBJECT_FIELDS, type ObjectField } from './snapshot.js';
import { appliedClaimSize, claimsOf, nextStorageStep, podsToRemount, type StorageStep } from './storage-resize.js';
import { planTlsPhase } from './tls-phase.js';
import { storageInput, templateSizeOf } from './volumes.js';

/** A change to one of the cluster's objects, to make before the step. */
export type ObjectChange =
  | { kind: 'create'; object: OwnedObject }
  /** `field` is the first field that differs, for the log. */
  | { kind: 'update'; object: OwnedObject; field: string; resourceVersion: string | undefined }
  /** An object the spec no longer asks for (the NetworkPolicy, turned off), with the uid it must still have. */
  | { kind: 'delete'; field: ObjectField; name: string; uid: string };

/** The one step of this reconcile; at most one of them changes the ensemble. */
export type Step =
  | { kind: 'scale'; step: ScalingStep }
  /** A reconfig that moves one member to its new line (as taken: a wait when ZooKeeper refused it). */
  | { kind: 'move'; step: MoveStep }
  | { kind: 'roll'; step: RollStep }
  | { kind: 'growVolumes'; step: StorageStep }
  /** Nothing to plan: the members could not be read, so no step may be taken. */
  | { kind: 'none' };

export interface Decision {
  formation: Formation;
  /** Data holders of members seen synced, to mark as evidence that the ensemble formed. */
  holdersToMark: { holder: DataHolder; configVersion: string }[];
  membership: MembershipPlan;
  /** What the member-move planner says while scaling has nothing to do; the step itself when it moves one. */
  move?: MoveStep;
  desired: DesiredObjects;
  /** In apply order: configuration and Services before the pods that use them, the NetworkPolicy before the pods it guards. */
  changes: ObjectChange[];
  /** Member pods to restart so their grown volumes are mounted again. */
  remount: string[];
  step: Step;
  /** The TLS rungs rendered now, and where the members stand (`tls-phase.ts`). */
  tls: { next: TlsPhase; observed: TlsPhase };
  /**
   * What to issue, renew or drop; with spec.tls, or while a pod still uses TLS (`keepsCertificates`).
   * Taken apart from the step: it never changes the ensemble.
   */
  certificates?: CertificatePlan;
  /** With `tls.certificates.issuerRef`: cert-manager's Certificate of the CA, when the live one says otherwise or is missing. */
  caCertificate?: CaCertificate;
}

export interface DecideOptions {
  /** The operator's own pods, admitted to the client port by each cluster's NetworkPolicy. */
  operatorPod?: OperatorPod | undefined;
}

export function decide(snapshot: ClusterSnapshot, options: DecideOptions = {}): Decision {
  const { cluster, spec, health } = snapshot;
  const holders = dataHolders(snapshot);
  const formation = ensembleFormation({
    health,
    holders,
    ...(cluster.metadata.creationTimestamp === undefined
      ? {}
      : { clusterCreatedAt: new Date(cluster.metadata.creationTimestamp) }),
  });
  const tls = planTlsPhase(snapshot);
  const loopback = clientOnLoopback(tls.next);
  const membership = planMembership(snapshot, formation.formed, tls.next);
  const statefulSet = snapshot.live.statefulSet as V1StatefulSet | undefined;
  const desiredSize = spec.storage.ephemeral ? undefined : spec.storage.size;
  const liveConfig = (snapshot.live.configMap as V1ConfigMap | undefined)?.data;
  const desired = renderCluster({
    cluster,
    bootstrap: !formation.formed,
    podCount: membership.podCount,
    observerPodCount: membership.observerPodCount,
    members: membership.members,
    // Each member StatefulSet keeps its live claim template's size until the storage step recreates it.
    claimSize: appliedClaimSize({ desiredSize, templateSize: templateSizeOf(statefulSet) }),
    observerClaimSize: appliedClaimSize({
      desiredSize,
      templateSize: templateSizeOf(snapshot.live.observerStatefulSet as V1StatefulSet | undefined),
    }),
    operatorPod: options.operatorPod,
    liveConfigMap: liveConfig,
    livePods: snapshot.pods,
    pendingMoves: pendingMovesOf(cluster, spec, health, liveConfig?.[DYNAMIC_CONFIG_KEY], loopback),
    tls: tls.next,
    clientCaBundle: secretText(snapshot.certificates?.tlsSecret, TRUST_BUNDLE_KEY),
    digestUsersFingerprint: digestUsersFingerprint(snapshot.digestUsers),
  });
  const volumes = storageInput(snapshot);
  const memberPods = snapshot.pods.flatMap((pod) => toMemberPod(cluster.metadata.name, pod) ?? []);
  const remount = podsToRemount(claimsOf(volumes.groups), memberPods);
  const decision = {
    formation,
    holdersToMark: holdersToMarkFormed(health, holders),
    membership,
    desired,
    changes: objectChanges(snapshot, desired),
    remount,
    tls,
    ...certificatePlanOf(snapshot),
  };
  const scaling = membership.scaling;
  if (scaling !== undefined && scaling.kind !== 'done') return { ...decision, step: { kind: 'scale', step: scaling } };
  if (health === undefined) return { ...decision, step: { kind: 'none' } };
  // A member the roll restarted moves before the roll goes on: the roll would only wait for it to
  // turn Ready, which it does once it listens on the ports its new pod declares.
  const move = planMove(snapshot, health, desired.revision, loopback);
  if (move.kind === 'move') return { ...decision, move, step: { kind: 'move', step: move } };
  const podCount = desired.statefulSet.spec?.replicas ?? spec.replicas;
  const observerPodCount = desired.observerStatefulSet?.spec?.replicas ?? 0;
  const roll = nextRollStep({
    desiredRevision: desired.revision,
    remount,
    expectedMyids: [...serverIdsUpTo(podCount), ...observerIdsUpTo(observerPodCount)],
    pods: memberPods,
    health,
    paused: spec.paused,
    stepTimeoutMs: spec.stepTimeoutSeconds * 1000,
    leaderHandOff: spec.leaderHandOff,
    now: snapshot.now,
  });
  // Every member StatefulSet the cluster renders is live and none is being recreated.
  const settled = (['statefulSet', 'observerStatefulSet'] as const).every(
    (field) =>
      desired[field] === undefined ||
      (snapshot.live[field] !== undefined && snapshot.live[field]?.metadata?.deletionTimestamp === undefined),
  );
  if (roll.kind === 'done' && health.available && !spec.paused && settled) {
    return { ...decision, move, step: { kind: 'growVolumes', step: nextStorageStep(volumes) } };
  }
  return { ...decision, move, step: { kind: 'roll', step: roll } };
}

/**
 * The certificate policy's input, from the snapshot; undefined while no certificate is kept
 * (`keepsCertificates`). Without spec.tls, while pods still use TLS, the default policy renews.
 */
export function certificateInput(snapshot: ClusterSnapshot): CertificateInput | undefined {
  const { cluster, spec, certificates } = snapshot;
  if (certificates === undefined) return undefined;
  return {
    cluster: cluster.metadata,
    clusterDomain: spec.clusterDomain,
    policy: (spec.tls ?? resolveTls({})).certificates,
    members: membersNeedingCertificates(
      spec,
      snapshot.pods.map((pod) => pod.metadata?.name ?? ''),
      cluster.metadata.name,
    ),
    ca: certificates.ca,
    externalCa: certificates.externalCa,
    memberSecret: certificates.memberSecret,
    now: snapshot.now,
  };
}

function certificatePlanOf(snapshot: ClusterSnapshot): {
  certificates?: CertificatePlan;
  caCertificate?: CaCertificate;
} {
  const input = certificateInput(snapshot);
  if (input === undefined) return {};
  const { ca } = input.policy;
  const live = snapshot.certificates?.caCertificate;
  const wanted =
    ca.kind === 'issuer' && live !== undefined
      ? renderCaCertificate(
          snapshot.cluster,
          { ...input.policy, ca },
          input.externalCa?.kind === 'present' ? input.externalCa.facts : undefined,
          snapshot.now,
        )
      : undefined;
  return {
    certificates: planCertificates(input),
    ...(wanted === undefined || caCertificateCurrent(live?.live, wanted) ? {} : { caCertificate: wanted }),
  };
}

/**
 * Whether the step changes the ensemble (a restart, a reconfig, a pod count, a claim), so that it
 * must be decided on readings taken for it, none reused.
 */
export function changesEnsemble(step: Step): boolean {
  switch (step.kind) {
    case 'scale':
      return step.step.kind !== 'done' && step.step.kind !== 'wait';
    case 'move':
      return true;
    case 'roll':
      return step.step.kind === 'restart' || step.step.kind === 'handOff';
    case 'growVolumes':
    case 'none':
      return false;
  }
}

/** The desired objects the live ones do not already satisfy, and the ones no longer wanted. */
function objectChanges(snapshot: ClusterSnapshot, desired: DesiredObjects): ObjectChange[] {
  const changes: ObjectChange[] = [];
  for (const field of OBJECT_FIELDS) {
    const object: OwnedObject | undefined = desired[field];
    const live = snapshot.live[field];
    if (object === undefined) {
      const unwanted = unwantedObject(snapshot, field, live);
      if (unwanted !== undefined) changes.push(unwanted);
      continue;
    }
    if (live === undefined) {
      changes.push({ kind: 'create', object });
      continue;
    }
    // Being deleted (a StatefulSet recreated for new claim sizes): applied again once it is gone.
    if (live.metadata?.deletionTimestamp !== undefined) continue;
    const difference = firstDifference(object, live);
    if (difference !== undefined) {
      changes.push({ kind: 'update', object, field: difference, resourceVersion: live.metadata?.resourceVersion });
    }
  }
  return changes;
}

/** Only the NetworkPolicy can be turned off; it is deleted when this cluster owns it. */
function unwantedObject(
  snapshot: ClusterSnapshot,
  field: ObjectField,
  live: OwnedObject | undefined,
): ObjectChange | undefined {
  if (field !== 'networkPolicy') return undefined;
  const uid = live?.metadata?.uid;
  const owned = live?.metadata?.ownerReferences?.some(
    (owner) => owner.uid === snapshot.cluster.metadata.uid && owner.controller === true,
  );
  if (uid === undefined || !owned || live?.metadata?.deletionTimestamp !== undefined) return undefined;
  return { kind: 'delete', field, name: live?.metadata?.name ?? '', uid };
}
