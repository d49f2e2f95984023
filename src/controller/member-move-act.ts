/**
 * Member moves between the pure planner (`member-move.ts`) and the world: where the operator
 * reaches each member, and the planner's one step carried out (a conditional reconfig).
 *
 * Where a member listens is its committed `server.N` line, not spec: after spec's ports change,
 * each member keeps its old addresses until its own move commits. So:
 * - the operator reads each member (4lw) at the client port of its line in the live ConfigMap's
 *   dynamic list (the committed line while it waits to move), and at spec's port when it does not
 *   answer there (it moved since: the ConfigMap catches up with the next apply);
 * - reconfig sessions go to serving members at the client ports ZooKeeper committed for them.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { ResolvedSpec } from '../api/defaults.js';
import { isObserverId, memberHost, objectNames, serverIdOfPod } from '../render/names.js';
import type { ReconcileContext } from '../runtime/controller.js';
import type { MemberAddress, SecureClientPort } from '../zookeeper/ensemble-reader.js';
import { assessEnsemble, type EnsembleHealth, type MemberReading } from '../zookeeper/health.js';
import { clientEndpointOf, ReconfigError } from '../zookeeper/reconfig-client.js';
import type { SessionServer } from '../zookeeper/session.js';
import type { ClientTls } from '../zookeeper/transport.js';
import type { ReconcilerDependencies } from './dependencies.js';
import { committedConfigOf, type MoveStep, recordedLines } from './member-move.js';
import { toMemberAddress } from './member-pods.js';
import type { ClusterSnapshot } from './snapshot.js';
import { StepFailed } from './step-failure.js';
import { podServesSecureClientPort } from './tls-phase.js';

/**
 * Where the operator reads a member that serves the TLS client port, by its pod: there only,
 * verifying the member's own DNS name; `unreadable` while the operator has no certificate to
 * read it with (it is then read nowhere: never at its plaintext port). Undefined for a pod that
 * does not serve TLS.
 */
export function secureClientPortOf(
  clusterName: string,
  pod: V1Pod,
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>,
  credentials: ClientTls | undefined,
): SecureClientPort | 'unreadable' | undefined {
  const myid = serverIdOfPod(clusterName, pod.metadata?.name ?? '');
  if (myid === undefined || !podServesSecureClientPort(pod)) return undefined;
  if (credentials === undefined) return 'unreadable';
  const cluster = { name: clusterName, namespace: pod.metadata?.namespace ?? '' };
  return { port: spec.ports.secureClient, serverName: memberHost(cluster, myid, spec.clusterDomain), credentials };
}

/** Why a member that serves TLS was not read: the operator had no certificate of the cluster CA. */
export const noOperatorCertificate = (clusterName: string): string =>
  `it serves clients over TLS and the operator has no certificate of the cluster CA to read it with (Secret ${objectNames({ name: clusterName, namespace: '' }).caSecret} missing or unusable); it is not read over plaintext instead`;

/**
 * ZooKeeper's view: each member read at the client port its line in `renderedDynamic` names, and
 * again at spec's for a member that did not answer there; a member that serves TLS, at its TLS
 * client port with `operatorTls` alone. Undefined without member pods.
 */
export async function readMembersWhereTheyListen(
  deps: ReconcilerDependencies,
  clusterName: string,
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>,
  pods: readonly V1Pod[],
  renderedDynamic: string | undefined,
  fresh: boolean,
  operatorTls?: ClientTls,
): Promise<EnsembleHealth | undefined> {
  const unreadable: MemberReading[] = [];
  const addresses = pods.flatMap((pod) => {
    const address = toMemberAddress(clusterName, pod);
    const tls = secureClientPortOf(clusterName, pod, spec, operatorTls);
    if (address === undefined) return [];
    if (tls === 'unreadable') {
      unreadable.push({ pod: address.pod, myid: address.myid, unreachable: noOperatorCertificate(clusterName) });
      return [];
    }
    return [tls === undefined ? address : { ...address, tls }];
  });
  if (addresses.length === 0 && unreadable.length === 0) return undefined;
  const specPort = spec.ports.client;
  const recorded = new Map(recordedLines(renderedDynamic).map((m) => [m.myid, clientEndpointOf(m)?.port]));
  const portOf = (member: MemberAddress) => recorded.get(member.myid) ?? specPort;
  const readAt = async (members: readonly MemberAddress[], port: (m: MemberAddress) => number) => {
    const byPort = new Map<number, MemberAddress[]>();
    for (const member of members) byPort.set(port(member), [...(byPort.get(port(member)) ?? []), member]);
    const groups = await Promise.all(
      [...byPort].map(([client, group]) => deps.ensemble.read(group, { client }, fresh ? { fresh } : undefined)),
    );
    return groups.flat();
  };
  const first = await readAt(addresses, portOf);
  const unanswered = (reading: MemberReading | undefined) => reading?.unreachable !== undefined;
  const retry = addresses.filter(
    (member) =>
      member.tls === undefined && portOf(member) !== specPort && unanswered(first.find((r) => r.myid === member.myid)),
  );
  const second = retry.length === 0 ? [] : await readAt(retry, () => specPort);
  return assessEnsemble([
    ...first.map((reading) => second.find((r) => r.myid === reading.myid && !unanswered(r)) ?? reading),
    ...unreadable,
  ]);
}

/**
 * Serving members at the client port of their committed line (spec's when the config is unknown),
 * or at their TLS client port when they serve it, leaving out `except`.
 */
export function sessionServers(
  snapshot: ClusterSnapshot,
  health: EnsembleHealth | undefined,
  except?: number,
): SessionServer[] {
  const committed = committedConfigOf(health)?.members ?? [];
  const clusterName = snapshot.cluster.metadata.name;
  return (
    (health?.members ?? [])
      // Voters only: an observer forwards a reconfig too, but learns its outcome later than they do.
      .filter((m) => m.serving && m.myid !== except && !isObserverId(m.myid))
      .flatMap((member): SessionServer[] => {
        const pod = snapshot.pods.find((p) => p.metadata?.name === member.pod);
        const ip = pod?.status?.podIP;
        if (pod === undefined || ip === undefined) return [];
        const tls = secureClientPortOf(clusterName, pod, snapshot.spec, snapshot.operatorTls);
        if (tls === 'unreadable') return [];
        if (tls !== undefined) return [{ address: `${ip}:${tls.port}`, tls }];
        const line = committed.find((c) => c.myid === member.myid);
        const port = (line === undefined ? undefined : clientEndpointOf(line)?.port) ?? snapshot.spec.ports.client;
        return [`${ip}:${port}`];
      })
  );
}

/**
 * Takes the move's step and returns it as taken. ZooKeeper's refusal becomes a wait that says
 * why (`MoveRefused`), in the log and a Warning Event; the config is read again on the next pass
 * and the step planned anew, so a change that committed despite the error is not repeated.
 */
export async function takeMoveStep(
  deps: ReconcilerDependencies,
  snapshot: ClusterSnapshot,
  step: MoveStep,
  superPassword: string,
  ctx: ReconcileContext,
): Promise<MoveStep> {
  const { cluster, health } = snapshot;
  if (step.kind === 'wait') {
    ctx.logger.debug('member move waits', { reason: step.reason.code, message: step.reason.message });
    return step;
  }
  if (step.kind !== 'move') return step;
  ctx.logger.info(step.reason.message, { myid: step.myid, fromVersion: step.fromVersion });
  // The moved member drops its clients as it rebinds: the session goes through the others.
  const others = sessionServers(snapshot, health, step.myid);
  const servers = others.length > 0 ? others : sessionServers(snapshot, health);
  try {
    await deps.membership(servers, superPassword).move(step.serverLine, step.fromVersion);
  } catch (error) {
    if (!(error instanceof ReconfigError)) {
      throw new StepFailed('ReconfigFailed', `moving member ${step.myid} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const refused: MoveStep = {
      kind: 'wait',
      reason: { code: 'MoveRefused', message: `moving member ${step.myid} failed: ${error.message}` },
    };
    ctx.logger.warn(refused.reason.message, { myid: step.myid, code: error.code });
    await deps.events.record(cluster, 'Warning', refused.reason.code, refused.reason.message);
    return refused;
  }
  await deps.events.record(cluster, 'Normal', step.reason.code, step.reason.message);
  return step;
}
