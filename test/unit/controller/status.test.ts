import type { V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import { REVISION_ANNOTATION } from '../../../src/api/constants.js';
import type { ZooKeeperClusterStatus } from '../../../src/api/types.js';
import { mergeConditions } from '../../../src/controller/conditions.js';
import { computeStatus, hasFormed } from '../../../src/controller/status.js';
import { aCluster } from '../../support/builders.js';

const now = new Date('2026-11-25T12:00:00Z');
const later = new Date('2026-11-25T12:05:00Z');

function aPod(ordinal: number, options: { ready?: boolean; revision?: string; image?: string } = {}): V1Pod {
  return {
    metadata: { name: `example-${ordinal}`, annotations: { [REVISION_ANNOTATION]: options.revision ?? 'r1' } },
    spec: { containers: [{ name: 'zookeeper', image: options.image ?? 'zookeeper:3.9.4' }] },
    status: { conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] },
  };
}

const status = (
  pods: V1Pod[],
  previous?: ZooKeeperClusterStatus,
  extra: Partial<Parameters<typeof computeStatus>[0]> = {},
) =>
  computeStatus({
    cluster: { ...aCluster({ replicas: 3 }), ...(previous ? { status: previous } : {}) },
    pods,
    desiredRevision: 'r1',
    specErrors: [],
    now,
    ...extra,
  });
const condition = (s: ZooKeeperClusterStatus, type: string) => s.conditions?.find((c) => c.type === type);

test('all members ready on the desired revision: Running, Available, not Degraded, not Progressing', (t) => {
  const s = status([aPod(0), aPod(1), aPod(2)]);
  t.is(s.phase, 'Running');
  t.is(s.ready, '3/3');
  t.is(s.readyReplicas, 3);
  t.is(s.replicas, 3);
  t.is(s.selector, 'app.kubernetes.io/instance=example,app.kubernetes.io/name=zookeeper');
  t.is(s.observedGeneration, 1);
  t.is(condition(s, 'Available')?.status, 'True');
  t.is(condition(s, 'Degraded')?.status, 'False');
  t.is(condition(s, 'Progressing')?.status, 'False');
  t.is(s.currentVersion, '3.9.4');
  t.is(s.targetVersion, '3.9.4');
  t.is(s.clientConnectionString, 'example-client.default.svc.cluster.local:2181');
});

test('a new ensemble below quorum is Creating, with its members starting', (t) => {
  const s = status([aPod(0, { ready: false }), aPod(1, { ready: false })]);
  t.is(s.phase, 'Creating');
  t.is(condition(s, 'Available')?.reason, 'Creating');
  t.is(condition(s, 'Progressing')?.reason, 'MembersStarting');
  t.regex(condition(s, 'Degraded')?.message ?? '', /not ready: example-0, example-1; 1 member pod\(s\) missing/);
  t.false(hasFormed(s));
});

test('one member down after forming: Available but Degraded, naming the member', (t) => {
  const formed = status([aPod(0), aPod(1), aPod(2)]);
  const s = status([aPod(0), aPod(1, { ready: false }), aPod(2)], formed);
  t.is(s.phase, 'Degraded');
  t.is(condition(s, 'Degraded')?.message, 'not ready: example-1');
  t.true(hasFormed(s));
});

test('losing quorum after forming is Unavailable, and stays "formed" across reconciles', (t) => {
  const formed = status([aPod(0), aPod(1), aPod(2)]);
  const lost = status([aPod(0), aPod(1, { ready: false }), aPod(2, { ready: false })], formed);
  t.is(lost.phase, 'Unavailable');
  t.is(condition(lost, 'Available')?.reason, 'QuorumLost');
  const again = status([aPod(0, { ready: false })], lost);
  t.is(condition(again, 'Available')?.reason, 'QuorumLost');
  t.true(hasFormed(again));
});

test('members on an outdated revision make the cluster Progressing', (t) => {
  const s = status([aPod(0), aPod(1, { revision: 'old' }), aPod(2, { revision: 'old' })]);
  t.is(s.phase, 'Progressing');
  t.is(condition(s, 'Progressing')?.message, 'members on an outdated revision: example-1, example-2');
  t.is(s.currentRevision, undefined, 'members disagree on the revision');
});

test('an invalid spec is reported as Degraded with its reason, and progress stops', (t) => {
  const problem = { reason: 'HeapExceedsMemoryLimit', message: 'jvm.heapMiB must be smaller than the limit' };
  const s = status([aPod(0), aPod(1), aPod(2)], undefined, { specErrors: [problem] });
  t.like(condition(s, 'Degraded'), { status: 'True', ...problem });
  t.like(condition(s, 'Progressing'), { status: 'False', reason: 'InvalidSpec' });
});

test('paused clusters say so', (t) => {
  const s = computeStatus({
    cluster: aCluster({ paused: true }),
    pods: [],
    desiredRevision: 'r1',
    specErrors: [],
    now,
  });
  t.is(s.phase, 'Paused');
});

test('lastTransitionTime moves only when a condition changes status', (t) => {
  const first = mergeConditions(undefined, [{ type: 'Available', status: 'True', reason: 'A', message: 'a' }], 1, now);
  const same = mergeConditions(first, [{ type: 'Available', status: 'True', reason: 'B', message: 'b' }], 2, later);
  t.is(same[0]?.lastTransitionTime, now.toISOString());
  t.is(same[0]?.reason, 'B');
  t.is(same[0]?.observedGeneration, 2);
  const flipped = mergeConditions(same, [{ type: 'Available', status: 'False', reason: 'C', message: 'c' }], 2, later);
  t.is(flipped[0]?.lastTransitionTime, later.toISOString());
});

test('the same observations give the same status (so an unchanged cluster needs no status write)', (t) => {
  const pods = [aPod(0), aPod(1), aPod(2)];
  const first = status(pods);
  t.deepEqual(status(pods, first), first);
});
