/**
 * The TLS phase planner: which rung of each TLS ladder the members' pods should run next, from
 * what the members run now. Pure.
 *
 * A running ensemble cannot switch to TLS at once: a member speaking TLS and one speaking
 * plaintext do not understand each other. ZooKeeper's documented procedure climbs a ladder whose
 * neighbouring rungs do (zookeeperAdmin.md, "Upgrading existing non-TLS cluster with no downtime"),
 * and the roll moves one member at a time, so at most two neighbouring rungs ever run together:
 * - quorum: `plaintext` → `accepting-tls` (portUnification: each member accepts TLS and
 *   plaintext, still sends plaintext) → `sending-tls` (sslQuorum: sends TLS, still accepts both)
 *   → `tls-only` (portUnification off);
 * - client: `plaintext` → `secure-port` (secureClientPort served beside the plaintext port) →
 *   `tls-only` (the plaintext port moved, by reconfig, onto the pod's loopback, where only the
 *   member's own probes reach it).
 * Going back down is the same ladder in reverse.
 *
 * The evidence is the members themselves, never the operator's status: the rung a pod was
 * created for (its template's annotations) and, for the client's last rung, the client address
 * of each member's committed `server.N` line. The next rung is the one closest to spec's target
 * that is at most one rung from every member's: while a roll is under way (members on two
 * neighbouring rungs) it stays on the newer one, or turns back when spec turned back.
 */

import type { V1ConfigMap, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  CLIENT_TLS_ANNOTATION,
  CLIENT_TLS_PHASES,
  type ClientTlsPhase,
  PLAINTEXT,
  QUORUM_TLS_ANNOTATION,
  QUORUM_TLS_PHASES,
  type QuorumTlsPhase,
  type TemplateClientPhase,
  type TlsPhase,
  targetTlsPhase,
} from '../api/tls-phases.js';
import { DYNAMIC_CONFIG_KEY } from '../render/config-map.js';
import { serverIdOfPod } from '../render/names.js';
import type { EnsembleHealth } from '../zookeeper/health.js';
import type { ConfigMember } from '../zookeeper/reconfig-client.js';
import { committedConfigOf, isOnLoopback, recordedLines } from './member-move.js';
import type { ClusterSnapshot } from './snapshot.js';

/**
 * The rung nearest to `target` that is at most one rung from each of `observed`. Unless
 * `mayAdvance`, no rung beyond those the members run: a roll under way may finish or turn back,
 * but the next one starts only once the ensemble serves whole on the rung just reached.
 */
export function nextRung(target: number, observed: readonly number[], mayAdvance = true): number {
  if (observed.length === 0) return target;
  const lowest = Math.min(...observed);
  const highest = Math.max(...observed);
  // Members two rungs apart (never the result of a roll, but a pod can be replaced by hand, and a
  // member whose line is unknown is planned a rung up) are both neighbours of the rung between
  // them: meet there first.
  if (highest - lowest >= 2) return lowest + 1;
  if (!mayAdvance) return Math.min(Math.max(target, lowest), highest);
  return Math.min(Math.max(target, highest - 1), lowest + 1);
}

/** One member as the planner sees it. */
export interface MemberTlsEvidence {
  /** The rungs its pod template was rendered for. */
  quorum: QuorumTlsPhase;
  client: TemplateClientPhase;
  /** Its committed line serves plaintext clients on the pod's loopback only; undefined when not committed (yet). */
  loopbackClient: boolean | undefined;
}

/**
 * The rungs a pod runs (or a pod template's pods would), from its annotations; without them (or
 * with a value this operator does not know) plaintext.
 */
export function podTlsPhase(pod: Pick<V1Pod, 'metadata'>): { quorum: QuorumTlsPhase; client: TemplateClientPhase } {
  const annotations = pod.metadata?.annotations ?? {};
  const quorum = QUORUM_TLS_PHASES.find((phase) => phase === annotations[QUORUM_TLS_ANNOTATION]) ?? 'plaintext';
  const client = annotations[CLIENT_TLS_ANNOTATION] === 'secure-port' ? 'secure-port' : 'plaintext';
  return { quorum, client };
}

/** Whether a pod serves the TLS client port: the operator reads it there, and only there. */
export const podServesSecureClientPort = (pod: Pick<V1Pod, 'metadata'>): boolean =>
  podTlsPhase(pod).client === 'secure-port';

/**
 * Where a member's client traffic stands: its pod's rung, or `tls-only` once its committed line
 * keeps plaintext on loopback. While no committed config is known, `unknownLine` says which way
 * to read a pod that serves the TLS port: the planner assumes `tls-only`, the rung from which no
 * step down skips one (a pod rolled to plaintext while its line is still on loopback would serve
 * no client at all); status reports only what it knows.
 */
export function memberClientPhase(
  member: MemberTlsEvidence,
  unknownLine: 'assumeLoopback' | 'podOnly',
): ClientTlsPhase {
  const loopback = member.loopbackClient ?? (unknownLine === 'assumeLoopback' && member.client === 'secure-port');
  return loopback ? 'tls-only' : member.client;
}

/**
 * Where the ensemble as a whole stands: the lowest rung any member runs, so that `tls-only`
 * is reported only once every member is there.
 */
export function observedTlsPhase(members: readonly MemberTlsEvidence[]): TlsPhase {
  if (members.length === 0) return PLAINTEXT;
  const quorum = Math.min(...members.map((m) => QUORUM_TLS_PHASES.indexOf(m.quorum)));
  const client = Math.min(...members.map((m) => CLIENT_TLS_PHASES.indexOf(memberClientPhase(m, 'podOnly'))));
  return { quorum: QUORUM_TLS_PHASES[quorum] ?? 'plaintext', client: CLIENT_TLS_PHASES[client] ?? 'plaintext' };
}

/**
 * The rungs to render now: for each ladder, the rung nearest spec's target that every member is
 * at most one rung from, and a new rung only while the ensemble `serves` whole (every member
 * serving in sync with one leader). A new ensemble (no member yet) starts on the target.
 */
export function nextTlsPhase(target: TlsPhase, members: readonly MemberTlsEvidence[], serves = true): TlsPhase {
  const quorum = nextRung(
    QUORUM_TLS_PHASES.indexOf(target.quorum),
    members.map((m) => QUORUM_TLS_PHASES.indexOf(m.quorum)),
    serves,
  );
  const client = nextRung(
    CLIENT_TLS_PHASES.indexOf(target.client),
    members.map((m) => CLIENT_TLS_PHASES.indexOf(memberClientPhase(m, 'assumeLoopback'))),
    serves,
  );
  return { quorum: QUORUM_TLS_PHASES[quorum] ?? 'plaintext', client: CLIENT_TLS_PHASES[client] ?? 'plaintext' };
}

/**
 * Each member's evidence: its pod's rungs, and whether its committed line keeps plaintext clients
 * on loopback. Members without a pod yet are left out: they start on the rendered rung.
 */
export function tlsEvidence(
  clusterName: string,
  pods: readonly V1Pod[],
  committed: readonly ConfigMember[] | undefined,
): MemberTlsEvidence[] {
  return pods.flatMap((pod) => {
    const myid = serverIdOfPod(clusterName, pod.metadata?.name ?? '');
    if (myid === undefined) return [];
    const line = committed?.find((member) => member.myid === myid);
    return [
      {
        ...podTlsPhase(pod),
        loopbackClient: line === undefined ? undefined : isOnLoopback(line),
      },
    ];
  });
}

/**
 * The rungs a live StatefulSet's template gives the pods it creates next: as much evidence as a
 * pod, since a member evicted by the roll comes back from it (without it, the moment between a
 * pod's eviction and its successor would look like a ladder one rung lower). A template says
 * nothing of the members' lines: it counts as the TLS port's rung alone (`loopbackClient: false`),
 * or a template at `secure-port` would stand for `tls-only` and hold the way down there.
 */
export function templateEvidence(statefulSets: readonly (V1StatefulSet | undefined)[]): MemberTlsEvidence[] {
  return statefulSets.flatMap((statefulSet) => {
    const template = statefulSet?.spec?.template;
    return template === undefined ? [] : [{ ...podTlsPhase(template), loopbackClient: false }];
  });
}

/** The rungs to render for the snapshot's cluster, and where its members stand now. */
export function planTlsPhase(snapshot: Pick<ClusterSnapshot, 'cluster' | 'spec' | 'pods' | 'health' | 'live'>): {
  next: TlsPhase;
  observed: TlsPhase;
} {
  // The committed lines; while no member reports them, the lines the live ConfigMap last recorded.
  const recorded = recordedLines((snapshot.live.configMap as V1ConfigMap | undefined)?.data?.[DYNAMIC_CONFIG_KEY]);
  const lines = committedConfigOf(snapshot.health)?.members ?? (recorded.length > 0 ? recorded : undefined);
  const evidence = tlsEvidence(snapshot.cluster.metadata.name, snapshot.pods, lines);
  const templates = templateEvidence([
    snapshot.live.statefulSet as V1StatefulSet | undefined,
    snapshot.live.observerStatefulSet as V1StatefulSet | undefined,
  ]);
  const next = nextTlsPhase(
    targetTlsPhase(snapshot.spec.tls),
    [...evidence, ...templates],
    servesWhole(snapshot.health),
  );
  // Whatever the pods say (there may be none): while any line keeps plaintext on loopback, the
  // pods keep the TLS port, or that member would serve no client at all.
  const onLoopback = (lines ?? []).some(isOnLoopback);
  return {
    next: onLoopback && next.client === 'plaintext' ? { ...next, client: 'secure-port' } : next,
    observed: observedTlsPhase(evidence),
  };
}

/**
 * Every committed member, voter and observer, serves in sync with one leader, and so does every
 * member read. A committed member without a pod (evicted by the roll, not yet back) is not: its
 * pod, and the line it still has, are no evidence while it is away.
 */
export function servesWhole(health: EnsembleHealth | undefined): boolean {
  if (health === undefined || !health.available || !health.fullySynced || health.anomalies.length > 0) return false;
  const inSync = (myid: number) => health.members.some((m) => m.myid === myid && m.serving && m.synced);
  return (
    health.committedVoters.every(inSync) &&
    health.committedObservers.every(inSync) &&
    health.members.every((m) => m.serving && m.synced)
  );
}
