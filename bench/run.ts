/**
 * Benchmarks of the decisions every reconcile makes (`npm run bench`): rendering a cluster,
 * assessing an ensemble from its readings, planning a rolling-restart step and a volume-growth
 * step. Reports the mean
 * time per call and calls per second; tests assert behaviour, this measures speed.
 */
import { performance } from 'node:perf_hooks';
import type { V1Pod } from '@kubernetes/client-node';
import { API_GROUP_VERSION, KIND, REVISION_ANNOTATION } from '../src/api/constants.js';
import type { ZooKeeperCluster } from '../src/api/types.js';
import { nextRollStep } from '../src/controller/rolling-restart.js';
import { computeStatus } from '../src/controller/status.js';
import { nextStorageStep } from '../src/controller/storage-resize.js';
import { renderCluster } from '../src/render/cluster.js';
import { assessEnsemble, type MemberReading } from '../src/zookeeper/health.js';

const cluster = (replicas: number): ZooKeeperCluster => ({
  apiVersion: API_GROUP_VERSION,
  kind: KIND,
  metadata: { name: 'bench', namespace: 'default', uid: '00000000-0000-4000-8000-000000000001', generation: 1 },
  spec: { replicas, config: { tickTime: '2000' }, resources: { limits: { memory: '2Gi' } } },
});

function readings(size: number): MemberReading[] {
  const members = Array.from({ length: size }, (_, i) => ({
    myid: i + 1,
    host: `bench-${i}`,
    role: 'participant' as const,
  }));
  return members.map(({ myid }) => ({
    pod: `bench-${myid - 1}`,
    myid,
    srvr: { version: '3.9.4', mode: myid === size ? 'leader' : 'follower', zxid: '0x100000010', epoch: 1 },
    mntr:
      myid === size
        ? {
            serverState: 'leader',
            peerState: 'leading - broadcast',
            quorumSize: size,
            syncedFollowers: size - 1,
            syncedNonVotingFollowers: 0,
          }
        : { serverState: 'follower', peerState: 'following - broadcast' },
    conf: { serverId: myid, members, configVersion: '100000000' },
  }));
}

function bench(name: string, run: () => unknown, iterations = 20_000): void {
  for (let i = 0; i < 500; i++) run();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) run();
  const perCallUs = ((performance.now() - started) * 1000) / iterations;
  console.log(
    `${name.padEnd(48)} ${perCallUs.toFixed(1).padStart(8)} µs/call  ${Math.round(1e6 / perCallUs)
      .toLocaleString('en')
      .padStart(10)} calls/s`,
  );
}

for (const size of [3, 5, 15]) {
  const rendered = renderCluster({ cluster: cluster(size), bootstrap: false });
  const health = assessEnsemble(readings(size));
  const pods: V1Pod[] = Array.from({ length: size }, (_, i) => ({
    metadata: {
      name: `bench-${i}`,
      uid: `u${i}`,
      annotations: { [REVISION_ANNOTATION]: 'old' },
      creationTimestamp: new Date(),
    },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  }));
  bench(`render ${size} members`, () => renderCluster({ cluster: cluster(size), bootstrap: false }), 5_000);
  bench(`assess ${size} member readings`, () => assessEnsemble(readings(size)));
  bench(`plan a roll step, ${size} members outdated`, () =>
    nextRollStep({
      desiredRevision: rendered.revision,
      expectedMyids: health.members.map((m) => m.myid),
      pods: pods.map((p, i) => ({
        name: p.metadata?.name ?? '',
        myid: i + 1,
        revision: 'old',
        terminating: false,
        stuck: false,
        restartedInPlace: false,
        ready: true,
        createdAt: new Date(0),
      })),
      health,
      paused: false,
      stepTimeoutMs: 600_000,
      now: new Date(),
    }),
  );
  const claims = Array.from({ length: size }, (_, i) => ({
    name: `data-bench-${i}`,
    myid: i + 1,
    requested: '20Gi',
    capacity: '10Gi',
    fileSystemResizePendingSince: undefined,
  }));
  bench(`plan a storage step, ${size} claims growing`, () =>
    nextStorageStep({
      cluster: { namespace: 'default', name: 'bench' },
      desiredSize: '20Gi',
      groups: [{ statefulSet: 'bench', templateSize: '20Gi', claims }],
    }),
  );
  bench(`compute status, ${size} members`, () =>
    computeStatus({
      cluster: cluster(size),
      pods,
      desiredRevision: rendered.revision,
      formed: true,
      specErrors: [],
      health,
      now: new Date(),
    }),
  );
}
