import test from 'ava';
import { committedVoters } from '../../../src/controller/membership.js';
import type { EnsembleHealth } from '../../../src/zookeeper/health.js';

const health = (committed: number[]): EnsembleHealth => ({
  members: [],
  quorumSize: committed.length,
  syncedVoters: committed.length,
  faultTolerance: 0,
  committedVoters: committed,
  committedObservers: [],
  syncedObservers: 0,
  committedMembers: [],
  available: committed.length > 0,
  fullySynced: committed.length > 0,
  anomalies: [],
});

const dynamic = [
  'server.1=zk-0.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181',
  'server.2=zk-1.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181',
  'server.3=zk-2.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181',
  'server.4=zk-3.zk-headless.ns.svc.cluster.local:2888:3888:observer;0.0.0.0:2181',
].join('\n');

const cases: { name: string; health: EnsembleHealth | undefined; rendered: string | undefined; voters: number[] }[] = [
  {
    name: "ZooKeeper's committed config wins over the rendered list",
    health: health([1, 2]),
    rendered: dynamic,
    voters: [1, 2],
  },
  {
    name: 'no member answers conf: the participants every member starts with',
    health: health([]),
    rendered: dynamic,
    voters: [1, 2, 3],
  },
  { name: 'members not read at all: the rendered list', health: undefined, rendered: dynamic, voters: [1, 2, 3] },
  {
    name: 'nothing rendered yet and nothing read: no voters known',
    health: undefined,
    rendered: undefined,
    voters: [],
  },
];

for (const c of cases) {
  test(`committed voters: ${c.name}`, (t) => {
    t.deepEqual(committedVoters(c.health, c.rendered), c.voters);
  });
}
