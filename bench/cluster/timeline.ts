/**
 * What a benchmark saw, derived from samples of the ensemble taken every few hundred ms: when
 * each member stopped and when its new incarnation served again, when a new leader epoch
 * appeared, and what overlapped the writer's longest gap. Pure: samples in, figures out.
 */
import type { ServerMode } from '../../src/zookeeper/readings.js';

/** One member pod as seen at one instant: its incarnation and, if it answered `srvr`, its mode. */
export interface MemberSample {
  pod: string;
  uid: string;
  terminating: boolean;
  ready: boolean;
  mode?: ServerMode;
  epoch?: number;
}

export interface Sample {
  atMs: number;
  members: MemberSample[];
  /** The reason of the cluster's `Progressing` condition (what the operator said it waits for). */
  progress?: string;
}

/** One member's restart: from its old incarnation stopping to its new one serving (synced with the leader). */
export interface MemberRestart {
  pod: string;
  stoppedAtMs: number;
  syncedAtMs: number;
  /** When the new incarnation's pod was first seen Ready (its probe trails serving), if it was. */
  readyAtMs?: number;
}

export interface EpochChange {
  /** The last instant the previous leader was seen serving. */
  lastLeaderAtMs: number;
  /** The first instant a leader of the new epoch was seen. */
  newLeaderAtMs: number;
  leader: string;
  epoch: number;
}

/** Serving means synced: a follower answers `srvr` only once it has caught up with the leader. */
const serving = (member: MemberSample | undefined) => member?.mode === 'leader' || member?.mode === 'follower';

/**
 * Every restart of every pod, in the order they were synced. A restart starts at the first sample
 * where the incarnation last seen serving is terminating, gone, or replaced, and ends at the first
 * later sample where a new incarnation serves.
 */
export function memberRestarts(samples: readonly Sample[]): MemberRestart[] {
  const restarts: MemberRestart[] = [];
  const servingUid = new Map<string, string>();
  const stoppedAt = new Map<string, number>();
  const pods = new Set(samples.flatMap((s) => s.members.map((m) => m.pod)));
  for (const sample of samples) {
    for (const pod of pods) {
      const member = sample.members.find((m) => m.pod === pod);
      const known = servingUid.get(pod);
      if (
        !stoppedAt.has(pod) &&
        known !== undefined &&
        (member === undefined || member.terminating || member.uid !== known)
      ) {
        stoppedAt.set(pod, sample.atMs);
      }
      if (member !== undefined && !member.terminating && serving(member)) {
        const since = stoppedAt.get(pod);
        if (since !== undefined && member.uid !== known) {
          const readyAtMs = samples.find(
            (later) => later.atMs >= sample.atMs && later.members.some((m) => m.uid === member.uid && m.ready),
          )?.atMs;
          restarts.push({
            pod,
            stoppedAtMs: since,
            syncedAtMs: sample.atMs,
            ...(readyAtMs === undefined ? {} : { readyAtMs }),
          });
        }
        // The same incarnation serving again (it was only missed by a sample) is no restart.
        stoppedAt.delete(pod);
        servingUid.set(pod, member.uid);
      }
    }
  }
  return restarts.sort((a, b) => a.syncedAtMs - b.syncedAtMs);
}

export interface RollBreakdown {
  /** The config change to the first member stopping. */
  toFirstStopMs: number;
  /** Each member's restart-to-synced time, added up. */
  floorMs: number;
  /** Synced to its pod Ready (the readiness probe's lag), added up. */
  readinessLagMs: number;
  /** Pod Ready to the next member stopping: the roller's own reaction, added up. */
  betweenStepsMs: number;
}

/**
 * Where a roll's time went, for restarts one at a time: `startedAtMs` to the first stop, then per
 * member stop → synced → Ready → the next stop. A member overlapping the previous one (no
 * gating) counts no negative time.
 */
export function rollBreakdown(startedAtMs: number, restarts: readonly MemberRestart[]): RollBreakdown {
  const byStop = [...restarts].sort((a, b) => a.stoppedAtMs - b.stoppedAtMs);
  let readinessLagMs = 0;
  let betweenStepsMs = 0;
  byStop.forEach((restart, i) => {
    const ready = restart.readyAtMs ?? restart.syncedAtMs;
    readinessLagMs += ready - restart.syncedAtMs;
    const next = byStop[i + 1];
    if (next !== undefined) betweenStepsMs += Math.max(0, next.stoppedAtMs - ready);
  });
  return {
    toFirstStopMs: Math.max(0, (byStop[0]?.stoppedAtMs ?? startedAtMs) - startedAtMs),
    floorMs: floorMs(restarts),
    readinessLagMs,
    betweenStepsMs,
  };
}

/**
 * What the operator reported while a roll sat between steps (a pod Ready to the next member
 * stopping): each `Progressing` reason seen there, with the samples that showed it, most first.
 */
export function betweenStepsReasons(samples: readonly Sample[], restarts: readonly MemberRestart[]): string[] {
  const byStop = [...restarts].sort((a, b) => a.stoppedAtMs - b.stoppedAtMs);
  const counts = new Map<string, number>();
  byStop.slice(0, -1).forEach((restart, i) => {
    const fromMs = restart.readyAtMs ?? restart.syncedAtMs;
    const toMs = byStop[i + 1]?.stoppedAtMs ?? fromMs;
    for (const sample of samples) {
      if (sample.atMs < fromMs || sample.atMs >= toMs || sample.progress === undefined) continue;
      counts.set(sample.progress, (counts.get(sample.progress) ?? 0) + 1);
    }
  });
  return [...counts]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([reason, seen]) => `${reason} (${seen} sample${seen === 1 ? '' : 's'})`);
}

/** The floor of a roll: each member's restart-to-synced time, added up. */
export function floorMs(restarts: readonly MemberRestart[]): number {
  return restarts.reduce((sum, r) => sum + (r.syncedAtMs - r.stoppedAtMs), 0);
}

/** Each time a leader with a higher epoch than any seen before appeared. */
export function epochChanges(samples: readonly Sample[]): EpochChange[] {
  const changes: EpochChange[] = [];
  let epoch: number | undefined;
  let lastLeaderAtMs = 0;
  for (const sample of samples) {
    const leader = sample.members.find((m) => m.mode === 'leader' && !m.terminating && m.epoch !== undefined);
    if (leader?.epoch === undefined) continue;
    if (epoch !== undefined && leader.epoch > epoch) {
      changes.push({ lastLeaderAtMs, newLeaderAtMs: sample.atMs, leader: leader.pod, epoch: leader.epoch });
    }
    if (epoch === undefined || leader.epoch >= epoch) {
      epoch = leader.epoch;
      lastLeaderAtMs = sample.atMs;
    }
  }
  return changes;
}

/** How long the ensemble had no leader, per election: from the last sight of the old leader to the first of the new. */
export const leaderlessMs = (change: EpochChange) => change.newLeaderAtMs - change.lastLeaderAtMs;

export interface Window {
  fromMs: number;
  toMs: number;
}

const overlaps = (a: Window, fromMs: number, toMs: number) => fromMs <= a.toMs && toMs >= a.fromMs;

/**
 * What happened during `gap`, in time order, with times relative to its start: restarts under
 * way, elections, and the writer's own incidents. This is how a long gap gets its cause.
 */
export function explainGap(
  gap: Window,
  restarts: readonly MemberRestart[],
  changes: readonly EpochChange[],
  incidents: readonly { atMs: number; what: string }[],
): string[] {
  const at = (ms: number) => `${ms - gap.fromMs >= 0 ? '+' : ''}${ms - gap.fromMs} ms`;
  const lines: { atMs: number; line: string }[] = [
    ...restarts
      .filter((r) => overlaps(gap, r.stoppedAtMs, r.syncedAtMs))
      .map((r) => ({
        atMs: r.stoppedAtMs,
        line: `${at(r.stoppedAtMs)}: ${r.pod} stopped (serving again at ${at(r.syncedAtMs)})`,
      })),
    ...changes
      .filter((c) => overlaps(gap, c.lastLeaderAtMs, c.newLeaderAtMs))
      .map((c) => ({
        atMs: c.lastLeaderAtMs,
        line: `${at(c.lastLeaderAtMs)}: old leader last seen; ${c.leader} leads epoch ${c.epoch} at ${at(c.newLeaderAtMs)}`,
      })),
    ...incidents
      .filter((i) => overlaps(gap, i.atMs, i.atMs))
      .map((i) => ({ atMs: i.atMs, line: `${at(i.atMs)}: writer: ${i.what}` })),
  ];
  return lines.sort((a, b) => a.atMs - b.atMs).map((l) => l.line);
}

/** Nearest-rank percentile (`p` in 0..100) of `values`; undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** `value / baseline` to two decimals; undefined when the baseline is 0 or missing. */
export function ratio(value: number, baseline: number | undefined): number | undefined {
  if (baseline === undefined || baseline === 0) return undefined;
  return Math.round((value / baseline) * 100) / 100;
}
