/** Fixture builders: a valid cluster with overrides, rather than copied literals. */
import { API_GROUP_VERSION, KIND } from '../../src/api/constants.js';
import type { ZooKeeperCluster, ZooKeeperClusterSpec } from '../../src/api/types.js';
import type { MemberReading } from '../../src/zookeeper/health.js';
import type { ConfReading } from '../../src/zookeeper/readings.js';

export function aCluster(
  spec: ZooKeeperClusterSpec = {},
  meta: { name?: string; namespace?: string; uid?: string } = {},
): ZooKeeperCluster {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    metadata: {
      name: meta.name ?? 'example',
      namespace: meta.namespace ?? 'default',
      uid: meta.uid ?? '00000000-0000-4000-8000-000000000001',
      generation: 1,
    },
    spec,
  };
}

/**
 * What ZooKeeper answers when every member of cluster `example` (pods `example-0`…) serves: all
 * voters in the committed configuration, synced, and member `leader` (a server id; default the
 * highest) leading.
 */
export function healthyReadings(size: number, leader = size): MemberReading[] {
  const ids = Array.from({ length: size }, (_, ordinal) => ordinal + 1);
  const conf = {
    serverId: 0,
    members: ids.map((myid) => ({ myid, host: `example-${myid - 1}`, role: 'participant' as const })),
    configVersion: '100000000',
  };
  return ids.map((myid) =>
    aServingVoter({
      pod: `example-${myid - 1}`,
      myid,
      zxid: '0x100000001',
      conf: { ...conf, serverId: myid },
      ...(myid === leader ? { leads: { quorumSize: size, syncedFollowers: size - 1 } } : {}),
    }),
  );
}

/** What a leader says of its learners in `mntr`. */
export interface LeaderView {
  quorumSize: number;
  syncedFollowers: number;
  syncedNonVotingFollowers?: number;
  syncedObservers?: number;
}

/**
 * What a serving voter answers: the leader with `leads` as its view of the learners, else a
 * follower, in the synchronization phase while `syncing`. Unreachable and leaderless members are
 * plain literals where they are needed.
 */
export function aServingVoter(member: {
  pod: string;
  myid: number;
  conf: ConfReading;
  leads?: LeaderView;
  syncing?: boolean;
  zxid?: string;
  epoch?: number;
}): MemberReading {
  const { pod, myid, conf, leads } = member;
  return {
    pod,
    myid,
    srvr: {
      version: '3.9.4',
      mode: leads === undefined ? 'follower' : 'leader',
      zxid: member.zxid ?? '0x100000005',
      epoch: member.epoch ?? 1,
    },
    mntr:
      leads === undefined
        ? { serverState: 'follower', peerState: `following - ${member.syncing ? 'synchronization' : 'broadcast'}` }
        : { serverState: 'leader', peerState: 'leading - broadcast', syncedNonVotingFollowers: 0, ...leads },
    conf,
  };
}
