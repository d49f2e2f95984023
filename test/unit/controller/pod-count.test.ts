import test from 'ava';
import { decidePodCount } from '../../../src/controller/pod-count.js';

const cases: { name: string; input: Parameters<typeof decidePodCount>[0]; podCount: number; held?: string }[] = [
  {
    name: 'a new cluster gets every pod',
    input: { desiredReplicas: 3, liveReplicas: undefined, formed: false, paused: false },
    podCount: 3,
  },
  {
    name: 'nothing to change',
    input: { desiredReplicas: 3, liveReplicas: 3, formed: true, paused: false },
    podCount: 3,
  },
  {
    name: 'a cluster still forming follows spec.replicas',
    input: { desiredReplicas: 5, liveReplicas: 3, formed: false, paused: false },
    podCount: 5,
  },
  {
    name: 'a formed ensemble is not grown without reconfig',
    input: { desiredReplicas: 5, liveReplicas: 3, formed: true, paused: false },
    podCount: 3,
    held: 'MembershipChangeUnsupported',
  },
  {
    name: 'a formed ensemble is not shrunk without reconfig (3 → 1 would lose quorum)',
    input: { desiredReplicas: 1, liveReplicas: 3, formed: true, paused: false },
    podCount: 3,
    held: 'MembershipChangeUnsupported',
  },
  {
    name: 'paused keeps the pod count',
    input: { desiredReplicas: 5, liveReplicas: 3, formed: false, paused: true },
    podCount: 3,
    held: 'Paused',
  },
];

for (const c of cases) {
  test(`pod count: ${c.name}`, (t) => {
    const decision = decidePodCount(c.input);
    t.is(decision.podCount, c.podCount);
    t.is(decision.held?.code, c.held);
  });
}
