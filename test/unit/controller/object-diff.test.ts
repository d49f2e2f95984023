import test from 'ava';
import { isSatisfiedBy } from '../../../src/controller/object-diff.js';

const cases: { name: string; desired: unknown; live: unknown; satisfied: boolean }[] = [
  { name: 'identical objects', desired: { a: 1, b: { c: 'x' } }, live: { a: 1, b: { c: 'x' } }, satisfied: true },
  {
    name: 'fields only the live object has',
    desired: { a: 1 },
    live: { a: 1, defaulted: true, status: {} },
    satisfied: true,
  },
  { name: 'a changed value', desired: { a: 1 }, live: { a: 2 }, satisfied: false },
  { name: 'a missing field', desired: { a: { b: 1 } }, live: { a: {} }, satisfied: false },
  { name: 'a missing object', desired: { a: { b: 1 } }, live: {}, satisfied: false },
  {
    name: 'list elements with defaults',
    desired: { l: [{ n: 'x' }] },
    live: { l: [{ n: 'x', d: 1 }] },
    satisfied: true,
  },
  { name: 'a list with an extra live element', desired: { l: [1] }, live: { l: [1, 2] }, satisfied: false },
  { name: 'a list in another order', desired: { l: [1, 2] }, live: { l: [2, 1] }, satisfied: false },
  {
    name: 'NetworkPolicy rules equal to the live ones',
    desired: { spec: { ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 2181 }] }] } },
    live: { spec: { ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 2181 }] }] } },
    satisfied: true,
  },
  {
    name: 'a NetworkPolicy rule now from anywhere, still restricted live (a rule’s absent `from` means every source)',
    desired: { spec: { ingress: [{ ports: [{ protocol: 'TCP', port: 2181 }] }] } },
    live: { spec: { ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 2181 }] }] } },
    satisfied: false,
  },
  {
    name: 'canonicalised resource quantities',
    desired: { resources: { limits: { cpu: '1000m', memory: '1024Mi' } } },
    live: { resources: { limits: { cpu: '1', memory: '1Gi' } } },
    satisfied: true,
  },
  {
    name: 'different resource quantities',
    desired: { resources: { requests: { memory: '1Gi' } } },
    live: { resources: { requests: { memory: '2Gi' } } },
    satisfied: false,
  },
  {
    name: 'look-alike numbers outside resource maps',
    desired: { metadata: { annotations: { v: '0.10' } } },
    live: { metadata: { annotations: { v: '0.1' } } },
    satisfied: false,
  },
];
for (const c of cases) {
  test(`isSatisfiedBy: ${c.name}`, (t) => {
    t.is(isSatisfiedBy(c.desired, c.live), c.satisfied);
  });
}
