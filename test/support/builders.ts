/** Fixture builders: a valid cluster with overrides, rather than copied literals. */
import { API_GROUP_VERSION, KIND } from '../../src/api/constants.js';
import type { ZooKeeperCluster, ZooKeeperClusterSpec } from '../../src/api/types.js';
import type { MemberReading } from '../../src/zookeeper/health.js';

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
  return ids.map((myid) => ({
    pod: `example-${myid - 1}`,
    myid,
    srvr: { version: '3.9.4', mode: myid === leader ? 'leader' : 'follower', zxid: '0x100000001', epoch: 1 },
    mntr:
      myid === leader
        ? {
            serverState: 'leader',
            peerState: 'leading - broadcast',
            quorumSize: size,
            syncedFollowers: size - 1,
            syncedNonVotingFollowers: 0,
          }
        : { serverState: 'follower', peerState: 'following - broadcast' },
    conf: { ...conf, serverId: myid },
  }));
}
