/**
 * The member-move planner: which committed member's `server.N` line to change next so that the
 * ensemble listens where the spec says (ports, host names), or why not now. Pure.
 *
 * ZooKeeper changes a member's line by an incremental reconfig that "adds" its id with the new
 * line (test/integration/member-move.test.ts shows it on real ZooKeeper): the member rebinds its
 * client port and restarts its own leader election on a new election port, without a restart and
 * without an election; changing the leader's line makes the followers elect again (one election).
 * The committed config, not the spec, says where each member listens until its move commits.
 *
 * Rules:
 * - one member per reconfig, and only while scaling has nothing to do: membership and addresses
 *   never change in the same window;
 * - a member moves only once its pod runs the desired revision. New ports or a new domain change
 *   the pod template (container ports, the probe's port, the start script), so the rolling
 *   restart replaces each pod first (followers first, the leader last: the one election); the
 *   restarted member starts on its committed line and is not Ready (its probe asks the new port)
 *   until its move, which the roll waits for before the next restart. The Services' named target
 *   ports thus always point where a Ready member listens;
 * - a move starts only when there is one leader, every committed voter serves and is synced
 *   (the member moved last has rebound and caught up), and no anomaly is reported;
 * - followers first, lowest server id first; the leader last, when it is the only member left
 *   (after the roll restarted it, it no longer leads, so its move costs no election);
 * - the reconfig is conditional on the config version read, so a concurrent change is refused.
 * The planner keeps no state: the committed config says which members have moved, so an
 * operator restarted mid-move continues exactly there.
 */

import type { ResolvedSpec } from '../api/defaults.js';
import { LOOPBACK_CLIENT_ADDRESS } from '../api/tls-phases.js';
import type { ZooKeeperCluster } from '../api/types.js';
import type { PendingMove } from '../render/cluster.js';
import { serverLine } from '../render/zoo-cfg.js';
import type { EnsembleHealth } from '../zookeeper/health.js';
import { parseServerLines } from '../zookeeper/readings.js';
import { type ConfigMember, clientEndpointOf, parseServerLine, sameServerLine } from '../zookeeper/reconfig-client.js';
import { toMemberPod } from './member-pods.js';
import type { Reason } from './rolling-restart.js';
import type { ClusterSnapshot } from './snapshot.js';

export interface MoveInput {
  /** Every member's line as ZooKeeper committed it, and the config's version. */
  committed: { members: readonly ConfigMember[]; version: string } | undefined;
  /** The line each member should have, rendered from spec (host from clusterDomain, ports). */
  desired: ReadonlyMap<number, ConfigMember>;
  health: EnsembleHealth;
  /** Server ids whose pods run the desired revision: only they may move. */
  restarted: ReadonlySet<number>;
  /** Scaling has a step to take (a voter to add or remove, a pod to create): moves wait for it. */
  scaling: boolean;
  paused: boolean;
}

export type MoveStep =
  | { kind: 'done' }
  | { kind: 'wait'; reason: Reason }
  | { kind: 'move'; myid: number; serverLine: string; fromVersion: string; reason: Reason };

const wait = (code: string, message: string): MoveStep => ({ kind: 'wait', reason: { code, message } });

/** Committed members whose line differs from the desired one, by server id. */
export function outdatedLines(
  committed: readonly ConfigMember[],
  desired: ReadonlyMap<number, ConfigMember>,
): ConfigMember[] {
  return committed
    .filter((member) => {
      const wanted = desired.get(member.myid);
      return wanted !== undefined && !sameServerLine(member, wanted);
    })
    .sort((a, b) => a.myid - b.myid);
}

/** What changes between two lines of one member, in words: `client port 2181 -> 2281, host a -> b`. */
export function describeMove(from: ConfigMember, to: ConfigMember): string {
  const changes: string[] = [];
  if (from.host !== to.host) changes.push(`host ${from.host} -> ${to.host}`);
  const fromClient = clientEndpointOf(from);
  const toClient = clientEndpointOf(to);
  if (fromClient?.port !== toClient?.port) changes.push(`client port ${fromClient?.port} -> ${toClient?.port}`);
  if (fromClient?.address !== toClient?.address) {
    changes.push(`client address ${fromClient?.address} -> ${toClient?.address}`);
  }
  if (from.quorumPort !== to.quorumPort) changes.push(`quorum port ${from.quorumPort} -> ${to.quorumPort}`);
  if (from.electionPort !== to.electionPort) changes.push(`election port ${from.electionPort} -> ${to.electionPort}`);
  if (from.role !== to.role) changes.push(`role ${from.role} -> ${to.role}`);
  return changes.join(', ');
}

export function nextMoveStep(input: MoveInput): MoveStep {
  const { committed, health } = input;
  if (committed === undefined) {
    return wait('ConfigUnknown', 'no member answered with the committed config; no member is moved');
  }
  const outdated = outdatedLines(committed.members, input.desired);
  if (outdated.length === 0) return { kind: 'done' };
  const podOf = (myid: number) => health.members.find((m) => m.myid === myid)?.pod ?? `server ${myid}`;
  const pending = outdated.map((m) => podOf(m.myid)).join(', ');
  if (input.paused) return wait('Paused', `spec.paused is set: ${pending} wait to move to their new addresses`);
  if (input.scaling) {
    return wait('MoveWaitsForScaling', `${pending} move to their new addresses once scaling has finished`);
  }
  if (health.leader === undefined || !health.available) {
    return wait('NoQuorum', `the ensemble has no leader with a synced majority; ${pending} wait to move`);
  }
  const voters = committed.members.filter((m) => m.role === 'participant').map((m) => m.myid);
  const notSynced = voters.filter((myid) => !(health.members.find((m) => m.myid === myid)?.synced ?? false));
  if (notSynced.length > 0) {
    return wait(
      'WaitingForSync',
      `waiting for ${notSynced.map(podOf).join(', ')} to serve on the address the committed config gives and sync with the leader before the next move; if this lasts, check that member's logs`,
    );
  }
  if (health.anomalies.length > 0) {
    return wait(health.anomalies[0]?.reason ?? 'Anomaly', health.anomalies.map((a) => a.message).join('; '));
  }
  const movable = outdated.filter((m) => input.restarted.has(m.myid));
  if (movable.length === 0) {
    return wait(
      'WaitingForRestart',
      `${pending} move to their new addresses one by one, each right after the rolling restart has replaced its pod`,
    );
  }
  const leaderId = health.leader.myid;
  const next = movable.find((m) => m.myid !== leaderId) ?? movable.find((m) => m.myid === leaderId);
  const target = next === undefined ? undefined : input.desired.get(next.myid);
  if (next === undefined || target === undefined) return { kind: 'done' };
  const isLeader = next.myid === leaderId;
  return {
    kind: 'move',
    myid: next.myid,
    serverLine: target.line,
    fromVersion: committed.version,
    reason: {
      code: isLeader ? 'MovingLeader' : 'MovingMember',
      message:
        `moving member ${next.myid} (${podOf(next.myid)}) by reconfig: ${describeMove(next, target)}` +
        (isLeader
          ? '; it leads, so it goes last and the followers elect a leader once'
          : `; ${outdated.length - 1} more to move after it, the leader last`),
    },
  };
}

/** The committed config with every line parsed, or undefined when no member reported it whole. */
export function committedConfigOf(
  health: EnsembleHealth | undefined,
): { members: ConfigMember[]; version: string } | undefined {
  if (health?.configVersion === undefined || health.committedMembers.length === 0) return undefined;
  const lines = health.committedMembers.map((m) => m.line);
  if (lines.some((line) => line === undefined)) return undefined;
  return { members: lines.map((line) => parseServerLine(line as string)), version: health.configVersion };
}

/** The lines of a rendered dynamic list (the live ConfigMap's): the committed lines as last rendered. */
export function recordedLines(renderedDynamic: string | undefined): ConfigMember[] {
  return parseServerLines(renderedDynamic ?? '').flatMap((member) =>
    member.line === undefined ? [] : [parseServerLine(member.line)],
  );
}

/** A line whose plaintext client port only the member's own pod reaches. */
export const isOnLoopback = (member: ConfigMember): boolean =>
  clientEndpointOf(member)?.address === LOOPBACK_CLIENT_ADDRESS;

/** The line spec renders for each of `myids`. */
export function desiredLines(
  cluster: Pick<ZooKeeperCluster, 'metadata'>,
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>,
  myids: readonly number[],
  clientOnLoopback: boolean,
): Map<number, ConfigMember> {
  return new Map(
    myids.map((myid) => [myid, parseServerLine(serverLine(cluster.metadata, myid, spec, clientOnLoopback))]),
  );
}

/**
 * Committed members not yet on the line spec renders, with where they listen now; undefined when
 * none. When no member reports the committed config (an election, no quorum), the rendered list
 * stands for it, as it does for the voters in membership.ts: rendering spec's lines then would
 * send a member that restarts, and the operator's own readings, to ports nobody listens on yet.
 */
export function pendingMovesOf(
  cluster: Pick<ZooKeeperCluster, 'metadata'>,
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>,
  health: EnsembleHealth | undefined,
  renderedDynamic: string | undefined,
  clientOnLoopback: boolean,
): Map<number, PendingMove> | undefined {
  const members = committedConfigOf(health)?.members ?? recordedLines(renderedDynamic);
  const desired = desiredLines(
    cluster,
    spec,
    members.map((m) => m.myid),
    clientOnLoopback,
  );
  const outdated = outdatedLines(members, desired);
  if (outdated.length === 0) return undefined;
  return new Map(
    outdated.map((m) => [
      m.myid,
      {
        line: m.line,
        client: clientEndpointOf(m)?.port ?? spec.ports.client,
        clientOnLoopback: isOnLoopback(m),
        quorum: m.quorumPort,
        election: m.electionPort,
      },
    ]),
  );
}

/** The planner's step for the snapshot's cluster, with pods on `desiredRevision` counted as restarted. */
export function planMove(
  snapshot: ClusterSnapshot,
  health: EnsembleHealth,
  desiredRevision: string,
  clientOnLoopback: boolean,
): MoveStep {
  const { cluster, spec } = snapshot;
  const committed = committedConfigOf(health);
  const memberPods = snapshot.pods.flatMap((pod) => toMemberPod(cluster.metadata.name, pod) ?? []);
  return nextMoveStep({
    committed,
    desired: desiredLines(
      cluster,
      spec,
      (committed?.members ?? []).map((m) => m.myid),
      clientOnLoopback,
    ),
    health,
    restarted: new Set(memberPods.filter((p) => p.revision === desiredRevision).map((p) => p.myid)),
    // Asked only once scaling has nothing to do (decide.ts); the planner still refuses otherwise.
    scaling: false,
    paused: spec.paused,
  });
}
