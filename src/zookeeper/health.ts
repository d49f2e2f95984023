/**
 * The ensemble's health as ZooKeeper itself reports it, from one reading per member. Pure.
 *
 * Quorum math follows the leader: its `mntr` gives the voting view's size and how many
 * followers finished syncing; `syncedVoters = 1 + synced_followers - synced_non_voting_followers`
 * (the 1 is the leader). The ensemble is Available when there is exactly one leader and the
 * synced voters are a majority of the voting view; every spare voter beyond that majority is
 * one failure it can tolerate.
 */
import type { ConfMember, ConfReading, MntrReading, ServerMode, SrvrReading } from './readings.js';

/** What one member answered; readings are absent when it could not be asked or did not serve. */
export interface MemberReading {
  pod: string;
  myid: number;
  /** Why the member could not be asked at all (no pod IP, connection refused, timeout). */
  unreachable?: string;
  srvr?: SrvrReading;
  mntr?: MntrReading;
  conf?: ConfReading;
}

export interface MemberHealth {
  pod: string;
  myid: number;
  reachable: boolean;
  serving: boolean;
  role: ServerMode | 'unknown';
  /** A participant in the committed configuration. */
  voting: boolean;
  /** Following the single leader in the broadcast phase (or the leader itself). */
  synced: boolean;
  zxid?: string;
  epoch?: number;
  configVersion?: string;
}

export interface Anomaly {
  reason: 'MultipleLeaders' | 'EpochMismatch' | 'ConfigVersionMismatch' | 'MemberNotInConfig';
  message: string;
}

export interface EnsembleHealth {
  members: MemberHealth[];
  leader?: { pod: string; myid: number };
  /** Voters in the committed configuration, as the leader counts them. */
  quorumSize: number;
  syncedVoters: number;
  /** syncedVoters minus the majority: how many more voters may fail (negative: no quorum). */
  faultTolerance: number;
  /** The committed membership (participants) and its version, as the leader knows them. */
  committedVoters: number[];
  /** The committed observers, as the leader knows them; they never count towards the quorum. */
  committedObservers: number[];
  /** Observers the leader counts as synced (`zk_synced_observers`); 0 without a leader. */
  syncedObservers: number;
  /** Every member's committed line (where it listens now), as the leader reports them. */
  committedMembers: ConfMember[];
  configVersion?: string;
  available: boolean;
  /** Every voter of the committed configuration is synced. */
  fullySynced: boolean;
  anomalies: Anomaly[];
}

export const majorityOf = (voters: number): number => Math.floor(voters / 2) + 1;

const list = (members: readonly { pod: string }[]) => members.map((m) => m.pod).join(', ');

export function assessEnsemble(readings: readonly MemberReading[]): EnsembleHealth {
  const sorted = [...readings].sort((a, b) => a.myid - b.myid);
  const leaders = sorted.filter((r) => r.srvr?.mode === 'leader');
  const leader = leaders.length === 1 ? leaders[0] : undefined;
  const committed = (leader?.conf ?? sorted.find((r) => r.conf)?.conf)?.members ?? [];
  const committedVoters = committed.filter((m) => m.role === 'participant').map((m) => m.myid);
  const committedObservers = committed.filter((m) => m.role === 'observer').map((m) => m.myid);
  const configVersion = (leader?.conf ?? sorted.find((r) => r.conf)?.conf)?.configVersion;
  const leaderEpoch = leader?.srvr?.epoch;

  const members: MemberHealth[] = sorted.map((reading) => {
    const serving = reading.srvr !== undefined;
    const voting = committedVoters.includes(reading.myid);
    const inBroadcast = reading.srvr?.mode === 'leader' || (reading.mntr?.peerState?.endsWith('- broadcast') ?? false);
    return {
      pod: reading.pod,
      myid: reading.myid,
      reachable: reading.unreachable === undefined,
      serving,
      role: reading.srvr?.mode ?? 'unknown',
      voting,
      synced: leader !== undefined && serving && inBroadcast,
      ...(reading.srvr ? { zxid: reading.srvr.zxid, epoch: reading.srvr.epoch } : {}),
      ...(reading.conf?.configVersion ? { configVersion: reading.conf.configVersion } : {}),
    };
  });

  const mntr = leader?.mntr;
  const quorumSize = mntr?.quorumSize ?? committedVoters.length;
  const syncedVoters =
    leader === undefined ? 0 : 1 + (mntr?.syncedFollowers ?? 0) - (mntr?.syncedNonVotingFollowers ?? 0);
  const majority = majorityOf(quorumSize);

  const anomalies: Anomaly[] = [];
  if (leaders.length > 1) {
    anomalies.push({ reason: 'MultipleLeaders', message: `more than one member claims to lead: ${list(leaders)}` });
  }
  const serving = members.filter((m) => m.serving);
  // A follower's last processed zxid stays in an older epoch until it processes a write, so
  // only a member ahead of the leader's epoch proves it follows another leader.
  const aheadOfLeader = leaderEpoch === undefined ? [] : serving.filter((m) => (m.epoch ?? 0) > leaderEpoch);
  if (aheadOfLeader.length > 0) {
    anomalies.push({
      reason: 'EpochMismatch',
      message: `members have processed a later epoch than the leader ${leader?.pod}: ${list(aheadOfLeader)}`,
    });
  }
  const versions = [...new Set(serving.map((m) => m.configVersion).filter((v) => v !== undefined))];
  if (versions.length > 1) {
    anomalies.push({
      reason: 'ConfigVersionMismatch',
      message: `members disagree on the committed config version (${versions.join(' vs ')}): ${serving
        .map((m) => `${m.pod}=${m.configVersion}`)
        .join(', ')}`,
    });
  }
  const outside = committed.length === 0 ? [] : members.filter((m) => !committed.some((c) => c.myid === m.myid));
  if (outside.length > 0) {
    anomalies.push({
      reason: 'MemberNotInConfig',
      message: `members whose server id is missing from the committed config: ${outside
        .map((m) => `${m.pod} (server ${m.myid})`)
        .join(', ')}`,
    });
  }

  return {
    members,
    ...(leader ? { leader: { pod: leader.pod, myid: leader.myid } } : {}),
    quorumSize,
    syncedVoters,
    faultTolerance: syncedVoters - majority,
    committedVoters,
    committedObservers,
    syncedObservers: leader === undefined ? 0 : (mntr?.syncedObservers ?? 0),
    committedMembers: committed,
    ...(configVersion === undefined ? {} : { configVersion }),
    available: leader !== undefined && syncedVoters >= majority,
    fullySynced: leader !== undefined && syncedVoters === quorumSize,
    anomalies,
  };
}
