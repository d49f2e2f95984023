import test from 'ava';
import { parseQuantity, resolveSpec } from '../../../src/api/defaults.js';
import type { ZooKeeperClusterSpec } from '../../../src/api/types.js';
import { imageVersion, reviewSpec } from '../../../src/api/validation.js';

const versions: [string, string | undefined][] = [
  ['zookeeper:3.9.4', '3.9.4'],
  ['zookeeper:3.8', '3.8'],
  ['zookeeper:3.9.4-jre-17', '3.9.4'],
  ['registry.example.com:5000/mirror/zookeeper:3.8.6', '3.8.6'],
  ['zookeeper', undefined],
  ['zookeeper:latest', undefined],
  ['zookeeper@sha256:0123abcd', undefined],
];
for (const [image, version] of versions) {
  test(`imageVersion(${image}) is ${version}`, (t) => {
    t.is(imageVersion(image), version);
  });
}

const quantities: [string, number][] = [
  ['512Mi', 512 * 2 ** 20],
  ['2Gi', 2 * 2 ** 30],
  ['1G', 1e9],
  ['1.5Gi', 1.5 * 2 ** 30],
  ['1e3', 1000],
  ['100', 100],
];
for (const [quantity, bytes] of quantities) {
  test(`parseQuantity(${quantity}) = ${bytes}`, (t) => {
    t.is(parseQuantity(quantity), bytes);
  });
}

test('parseQuantity names a value it cannot read', (t) => {
  t.throws(() => parseQuantity('lots'), { message: /"lots" is not a Kubernetes quantity/ });
});

const reviews: { name: string; spec: ZooKeeperClusterSpec; errors: string[]; warnings: string[] }[] = [
  { name: 'the defaults', spec: {}, errors: [], warnings: [] },
  {
    name: 'a heap as large as the memory limit',
    spec: { resources: { limits: { memory: '1Gi' } }, jvm: { heapMiB: 1024 } },
    errors: ['HeapExceedsMemoryLimit'],
    warnings: [],
  },
  {
    name: 'a heap below the limit',
    spec: { resources: { limits: { memory: '1Gi' } }, jvm: { heapMiB: 700 } },
    errors: [],
    warnings: [],
  },
  { name: 'ZooKeeper 3.7', spec: { image: 'zookeeper:3.7.2' }, errors: ['UnsupportedVersion'], warnings: [] },
  { name: 'two members', spec: { replicas: 2 }, errors: [], warnings: ['TwoMembers'] },
  { name: 'four members', spec: { replicas: 4 }, errors: [], warnings: ['EvenMembers'] },
  { name: 'ephemeral storage', spec: { storage: { ephemeral: true } }, errors: [], warnings: ['EphemeralStorage'] },
];
for (const c of reviews) {
  test(`reviewSpec: ${c.name}`, (t) => {
    const review = reviewSpec(c.spec);
    t.deepEqual(
      review.errors.map((e) => e.reason),
      c.errors,
    );
    t.deepEqual(
      review.warnings.map((w) => w.reason),
      c.warnings,
    );
    for (const problem of [...review.errors, ...review.warnings]) t.true(problem.message.length > 20);
  });
}

test('resolveSpec never modifies the user’s spec', (t) => {
  const spec: ZooKeeperClusterSpec = { config: { tickTime: '3000' } };
  const before = structuredClone(spec);
  const resolved = resolveSpec(spec);
  t.deepEqual(spec, before);
  t.is(resolved.config.initLimit, '10');
  t.is(resolved.config.tickTime, '3000');
});
