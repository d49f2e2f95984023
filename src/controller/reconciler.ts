/**
 * The ZooKeeperCluster reconciler, in three parts: observe (`snapshot.ts`: the informer caches
 * and ZooKeeper's own view, read once), decide (`decide.ts`: pure, the desired objects and the
 * one step) and act (here: server-side apply, the step, the status subresource, Events). It takes
 * only a key; everything else it reads itself, so a replayed or coalesced key is harmless. When
 * nothing changed it makes no write call at all.
 *
 * Steps, in order:
 * 1. read the cluster; gone or being deleted → nothing to do (children are garbage-collected
 *    through their owner references, claims through the StatefulSet's retention policy); the
 *    same once the API server refused a create because the cluster's namespace is being deleted;
 * 2. review the spec; errors stop every action and are reported (status, Event); then the
 *    super-user Secret: created when missing, and one the cluster does not own (planted before
 *    it existed) stops every action too, reported as SuperUserSecretNotOwned, never used; so does
 *    a SASL users' Secret (spec.authentication.digestUsers) that is missing or that members would
 *    refuse (`digest-users.ts`), though certificates are still renewed;
 * 3. observe and decide; a step that changes the ensemble is decided again on readings of the
 *    members taken right before it (`withFreshHealth`), never on reused ones;
 * 4. mark the data holders of synced members (evidence that the ensemble formed); with
 *    spec.tls, keep the cluster CA and the member certificates current (`certificates.ts`); apply
 *    the objects the live ones do not already satisfy (and delete the NetworkPolicy once the spec
 *    turns it off), then take the one step: scaling, else the roll, else growing volumes. Each
 *    action fails with a reason of its own (`step-failure.ts`);
 * 5. compute the status from the snapshot and the decision, and apply it when it differs from
 *    the stored one.
 * While anything is not perfect it looks again every few seconds (and on every pod event).
 */
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { ZooKeeperCluster } from '../api/types.js';
import { reviewSpec, type SpecProblem } from '../api/validation.js';
import { canonicalJson } from '../render/canonical-json.js';
import { ownerReference } from '../render/cluster.js';
import { objectNames } from '../render/names.js';
import type { ReconcileContext, ReconcileOutcome } from '../runtime/controller.js';
import { classifyKubeError, isNamespaceTerminating, isNotFound } from '../runtime/kube-errors.js';
import { parseObjectKey } from '../runtime/object-key.js';
import { takeCertificatePlan } from './certificate-secrets.js';
import { reportCertificates } from './certificates.js';
import { markSyncedDataHolders } from './data-holders.js';
import { certificateInput, changesEnsemble, type Decision, decide, type ObjectChange, type Step } from './decide.js';
import type { ReconcilerDependencies } from './dependencies.js';
import { takeMoveStep } from './member-move-act.js';
import { toMemberAddress } from './member-pods.js';
import { takeScalingStep } from './membership.js';
import { afterEviction, type RestartStep, type RollStep } from './rolling-restart.js';
import { type ClusterSnapshot, observe, withFreshHealth } from './snapshot.js';
import { computeStatus } from './status.js';
import { failsAs, rootCause, StepFailed } from './step-failure.js';
import { takeStorageStep } from './volumes.js';

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
      deps.health?.forget(namespace ?? '', name);
      return undefined;
    }
    const uid = cluster.metadata.uid;
    if (uid !== undefined && inDeletedNamespace.get(key) === uid) return undefined;
    const warn = (reason: string, message: string) => deps.events.record(cluster, 'Warning', reason, message);

    const review = reviewSpec(cluster.spec);
    for (const problem of [...review.errors, ...review.warnings]) await warn(problem.reason, problem.message);

    const pass: Pass = {};
    let failure: unknown;
    if (review.errors.length === 0) {
      try {
        await reconcileSpec(deps, cluster, pass, ctx);
      } catch (error) {
        if (uid !== undefined && isNamespaceTerminating(rootCause(error))) {
          // Refused because the namespace is being deleted (the NamespaceLifecycle admission
          // plugin's own answer), and the garbage collector is removing what this cluster owns:
          // nothing to re-create, report or retry.
          inDeletedNamespace.set(key, uid);
          ctx.logger.info(`namespace ${cluster.metadata.namespace} is being deleted: leaving cluster ${name} alone`, {
            refused: classifyKubeError(rootCause(error)).message,
          });
          return undefined;
        }
        failure = error;
        pass.failure = describeFailure(error);
        await warn(pass.failure.reason, pass.failure.message);
      }
    } else {
      ctx.logger.warn('spec rejected; no action taken', { problems: review.errors.map((p) => p.message) });
    }

    const certificates = pass.snapshot === undefined ? undefined : certificateInput(pass.snapshot);
    const certificateReport = certificates === undefined ? undefined : reportCertificates(certificates);
    const status = computeStatus({
      cluster,
      pods: pass.snapshot?.pods ?? deps.cache.memberPods(cluster.metadata.namespace, cluster.metadata.name),
      specErrors: review.errors,
      blocker: pass.blocker,
      applyFailure: pass.failure,
      health: pass.snapshot?.health,
      formed: pass.decision?.formation.formed ?? false,
      certificates: certificateReport,
      now: pass.snapshot?.now ?? deps.now(),
      ...(pass.blocker === undefined ? decisionForStatus(pass) : { desiredRevision: undefined }),
    });
    deps.health?.observe(cluster, pass.snapshot?.health, status.operation);
    deps.health?.observeCertificates?.(
      cluster,
      certificateReport === undefined
        ? undefined
        : {
            earliestExpiry: certificateReport.earliestExpiry,
            renewalOverdue: certificateReport.condition.status === 'True',
          },
    );
    deps.health?.observeTlsPhase?.(cluster, status.tls);
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
    // The work queue backs off by what the API server or ZooKeeper said, not by the wrapper.
    if (failure !== undefined) throw rootCause(failure);
    // Polled while something may change without an event: ZooKeeper's view, and a planted
    // super-user Secret (only the certificate Secrets are watched). A member pod without an
    // address has nothing to read yet, and its pod's events (scheduled, started, Ready) bring the
    // cluster back as soon as it has one.
    const addressed = (pass.snapshot?.pods ?? []).some((pod) => toMemberAddress(name, pod)?.ip !== undefined);
    const nothingToRead = pass.snapshot !== undefined && !addressed && pass.blocker === undefined;
    const settled = status.phase === 'Running' || status.phase === 'Paused';
    return { requeueAfterMs: settled || nothingToRead ? resyncIntervalMs : pollIntervalMs };
  };
}

/** What one reconcile saw, decided and did, for the status; filled in as it goes, so a failure keeps what came before it. */
interface Pass {
  snapshot?: ClusterSnapshot;
  decision?: Decision;
  /** The step as taken (a restart the budget refused becomes a wait); set once the objects are applied. */
  taken?: Step;
  /** A problem outside the spec that stops every action. */
  blocker?: SpecProblem;
  failure?: SpecProblem;
}

/** Steps 2-4 for a spec that passed review. */
async function reconcileSpec(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  pass: Pass,
  ctx: ReconcileContext,
): Promise<void> {
  // The Secret comes first: member pods cannot start without the digest it holds.
  const secretName = objectNames(cluster.metadata).superUserSecret;
  const secret = await failsAs('SuperUserSecretFailed', `creating or reading Secret ${secretName}`, () =>
    deps.writer.superUserSecret(cluster.metadata.namespace, secretName, ownerReference(cluster)),
  );
  const options = { operatorPod: deps.operatorPod };
  let snapshot = await observe(deps, cluster, secret.kind === 'owned' ? secret.password : '');
  let decision = decide(snapshot, options);
  Object.assign(pass, { snapshot, decision });
  if (secret.kind === 'notOwned') {
    // Its digest would reach every member that starts: nothing is applied or restarted.
    pass.blocker = foreignSecretProblem(cluster, secretName, secret.ownerReferences);
    ctx.logger.warn(pass.blocker.message, { reason: pass.blocker.reason });
    await deps.events.record(cluster, 'Warning', pass.blocker.reason, pass.blocker.message);
    return;
  }
  const userSecretProblem = [snapshot.digestUsers, snapshot.trustedClientCAs].find((s) => s?.kind === 'problem');
  if (userSecretProblem?.kind === 'problem') {
    // Members would refuse to start with it (or find no Secret to mount): nothing is applied or
    // restarted. Certificates are still renewed: members in service need them.
    pass.blocker = userSecretProblem.problem;
    ctx.logger.warn(pass.blocker.message, { reason: pass.blocker.reason });
    await deps.events.record(cluster, 'Warning', pass.blocker.reason, pass.blocker.message);
    await takeCertificates(deps, snapshot, decision, ctx);
    return;
  }
  await markSyncedDataHolders(deps, snapshot, decision.holdersToMark, ctx);
  if (changesEnsemble(decision.step)) {
    snapshot = await withFreshHealth(deps, snapshot);
    decision = decide(snapshot, options);
    Object.assign(pass, { snapshot, decision });
  }
  const { formation, membership } = decision;
  if (formation.formed) ctx.logger.debug('the ensemble exists', { evidence: formation.evidence });
  // Certificates first (pods will mount them), but a failed issuance holds up no ensemble step:
  // nothing uses the certificates before they expire. It is reported once the step is taken.
  const certificateFailure = await takeCertificates(deps, snapshot, decision, ctx).then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  await applyChanges(deps, cluster, decision.changes, ctx);
  if (membership.restoredFrom !== undefined) {
    const message = `the StatefulSet was set to ${membership.restoredFrom} replicas outside the operator, fewer than the committed voters; restored to ${membership.podCount}. Change the member count with \`kubectl scale zk/${cluster.metadata.name}\``;
    ctx.logger.warn(message);
    await deps.events.record(cluster, 'Warning', 'StatefulSetReplicasRestored', message);
  }
  pass.taken = decision.step;
  pass.taken = await takeStep(deps, snapshot, decision.step, secret.password, ctx);
  if (certificateFailure !== undefined) throw certificateFailure.error;
}

/**
 * The certificate plan, after cert-manager's Certificate of the CA where spec names an issuer:
 * the Certificate is requested (or corrected) first; cert-manager answers in its own time.
 */
async function takeCertificates(
  deps: ReconcilerDependencies,
  snapshot: ClusterSnapshot,
  decision: Decision,
  ctx: ReconcileContext,
): Promise<void> {
  const { cluster, certificates } = snapshot;
  const wanted = decision.caCertificate;
  if (wanted !== undefined && deps.certManager !== undefined) {
    const certManager = deps.certManager;
    const what = `Certificate ${wanted.metadata.name} of the cluster's CA from ${wanted.spec.issuerRef.kind} ${wanted.spec.issuerRef.name}`;
    await failsAs('CertManagerUnavailable', `requesting ${what} (is cert-manager installed?)`, () =>
      certManager.apply(wanted),
    );
    const message = `requested ${what}; cert-manager issues it into Secret ${wanted.spec.secretName}`;
    ctx.logger.info(message);
    await deps.events.record(cluster, 'Normal', 'CaCertificateRequested', message);
  }
  if (certificates !== undefined && decision.certificates !== undefined) {
    await takeCertificatePlan(deps, cluster, certificates, decision.certificates, ctx);
  }
}

/** The parts of the status that follow from the decision and the step taken. */
function decisionForStatus(pass: Pass) {
  const { decision, taken } = pass;
  if (decision === undefined) return { desiredRevision: undefined };
  const roll: RollStep | undefined =
    taken?.kind === 'roll' ? taken.step : taken?.kind === 'growVolumes' ? { kind: 'done' } : undefined;
  const rolled = taken?.kind === 'roll' || taken?.kind === 'growVolumes';
  return {
    desiredRevision: decision.desired.revision,
    scaling: decision.membership.scaling,
    move: taken?.kind === 'move' ? taken.step : decision.move,
    roll,
    storage: taken?.kind === 'growVolumes' ? taken.step : undefined,
    remount: rolled ? decision.remount : undefined,
    tlsPhase: decision.tls.observed,
  };
}

/** Takes the decision's one step and returns it as taken. */
async function takeStep(
  deps: ReconcilerDependencies,
  snapshot: ClusterSnapshot,
  step: Step,
  superPassword: string,
  ctx: ReconcileContext,
): Promise<Step> {
  switch (step.kind) {
    case 'scale':
      await takeScalingStep(deps, snapshot, step.step, superPassword, ctx);
      return step;
    case 'move':
      return { kind: 'move', step: await takeMoveStep(deps, snapshot, step.step, superPassword, ctx) };
    case 'roll':
      return { kind: 'roll', step: await takeRollStep(deps, snapshot, step.step, superPassword, ctx) };
    case 'growVolumes':
      await takeStorageStep(deps, snapshot, step.step, ctx);
      return step;
    case 'none':
      return step;
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

/**
 * Takes the roll's one step and returns it as taken. A restart is an eviction, so the cluster's
 * PodDisruptionBudget arbitrates between it and anyone else evicting members (a node drain):
 * when the Eviction API refuses, the step becomes a wait with the refusal's own reason, in the
 * status, an Event and the log; the pod is never deleted instead.
 */
async function takeRollStep(
  deps: ReconcilerDependencies,
  snapshot: ClusterSnapshot,
  roll: RollStep,
  superPassword: string,
  ctx: ReconcileContext,
): Promise<RollStep> {
  const { cluster } = snapshot;
  if (roll.kind === 'wait') {
    ctx.logger.debug('rolling restart waits', { reason: roll.reason.code, message: roll.reason.message });
    if (roll.stalled) await deps.events.record(cluster, 'Warning', roll.reason.code, roll.reason.message);
    return roll;
  }
  if (roll.kind === 'handOff') {
    await takeScalingStep(
      deps,
      snapshot,
      { kind: 'removeMember', myid: roll.myid, fromVersion: roll.fromVersion, reason: roll.reason },
      superPassword,
      ctx,
    );
    return roll;
  }
  if (roll.kind !== 'restart') return roll;
  const taken = await evictMember(deps, snapshot, roll);
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

/** Evicts the member the roll restarts, by the uid the snapshot has for it; returns the step as the Eviction API allowed it. */
async function evictMember(
  deps: ReconcilerDependencies,
  snapshot: ClusterSnapshot,
  roll: RestartStep,
): Promise<RollStep> {
  const { namespace, name } = snapshot.cluster.metadata;
  const uid = snapshot.pods.find((p) => p.metadata?.name === roll.pod)?.metadata?.uid;
  if (uid === undefined)
    throw new Error(`cluster ${namespace}/${name}: pod ${roll.pod} to restart is not in the cache`);
  const outcome = await failsAs('EvictionFailed', `evicting ${roll.pod} to restart it`, () =>
    deps.writer.evictPod(namespace, roll.pod, uid),
  );
  return afterEviction(roll, outcome, { namespace, name: objectNames(snapshot.cluster.metadata).podDisruptionBudget });
}

/** Makes the object changes the decision lists, in its order; each failure names its object. */
async function applyChanges(
  deps: ReconcilerDependencies,
  cluster: ZooKeeperCluster,
  changes: readonly ObjectChange[],
  ctx: ReconcileContext,
): Promise<void> {
  const { namespace } = cluster.metadata;
  for (const change of changes) {
    if (change.kind === 'delete') {
      await failsAs('ApplyFailed', `deleting NetworkPolicy ${change.name}`, () =>
        deps.writer.deleteNetworkPolicy(namespace, change.name, change.uid),
      );
      const message = `Deleted NetworkPolicy ${change.name}: spec.networkPolicy.enabled is false`;
      ctx.logger.info(message);
      await deps.events.record(cluster, 'Normal', 'Deleted', message);
      continue;
    }
    const { object } = change;
    const what = `${object.kind} ${object.metadata?.name ?? ''}`;
    await failsAs('ApplyFailed', `applying ${what}`, () => deps.writer.apply(object));
    const verb = change.kind === 'create' ? 'Created' : 'Updated';
    ctx.logger.info(`${verb.toLowerCase()} ${what}`, {
      ...(change.kind === 'update' ? { field: change.field, resourceVersion: change.resourceVersion } : {}),
    });
    await deps.events.record(cluster, 'Normal', verb, `${verb} ${what}`);
  }
}

/**
 * The Degraded reason and message of a failed reconcile: the failed action's own, and
 * PermissionDenied whichever action lacked a permission.
 */
function describeFailure(error: unknown): SpecProblem {
  const classified = classifyKubeError(rootCause(error));
  // Only RBAC's own refusal: admission plugins answer 403 too (a claim whose class cannot grow).
  if (classified.kind === 'forbidden' && classified.permission !== undefined) {
    const during = error instanceof StepFailed ? ` (${error.message.replace(/ failed: .*$/s, '')})` : '';
    return {
      reason: 'PermissionDenied',
      message: `the operator lacks a permission: ${classified.message}${during}; grant it in the operator's ClusterRole`,
    };
  }
  if (error instanceof StepFailed) return { reason: error.reason, message: error.message };
  return { reason: 'ReconcileFailed', message: `reconciling the cluster failed: ${classified.message}` };
}
