/**
 * Every file in examples/ is applied to the real control plane as a user would (`kubectl apply
 * --server-side`, for real, not a dry run) in a fresh namespace, and the API server stores it as
 * written: the CRD's schema and CEL rules accept it. The single-member dev example also goes on
 * to a running ensemble under the operator.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import test from 'ava';
import { load } from 'js-yaml';
import type { ZooKeeperCluster } from '../../src/api/types.js';
import { toolEnvironment } from '../harness/controlplane.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { repoPath } from '../harness/repo.js';
import { FORMED_MS, isRunning, readCluster, waitForStatus } from '../support/clusters.js';
import { runOperator } from '../support/operator.js';

const run = promisify(execFile);
const EXAMPLES = readdirSync(repoPath('examples'))
  .filter((file) => file.endsWith('.yaml'))
  .sort();

/** Applies `file` with kubectl into `namespace` as the admin; returns the example as written. */
async function applyExample(namespace: string, file: string): Promise<ZooKeeperCluster> {
  const plane = await controlPlane();
  const path = repoPath(`examples/${file}`);
  await run(plane.binaries.kubectl, ['apply', '--server-side', '-n', namespace, '-f', path], {
    env: toolEnvironment(plane),
  });
  return load(readFileSync(path, 'utf8')) as ZooKeeperCluster;
}

test('examples/ holds the minimal, the production-like and the ephemeral dev cluster', (t) => {
  t.deepEqual(EXAMPLES, ['dev-ephemeral.yaml', 'production.yaml', 'zookeepercluster.yaml']);
});

for (const file of EXAMPLES) {
  test(`examples/${file} is accepted and stored as written`, async (t) => {
    const namespace = await newNamespace(t);
    const example = await applyExample(namespace, file);
    const stored = await readCluster(namespace, example.metadata.name as string);
    t.is(stored.metadata.generation, 1);
    // Every field as written (the schema adds its defaults for the fields left out).
    t.like(stored.spec, example.spec);
  });
}

test('examples/production.yaml asks for five members spread over zones and nodes, with a storage class', (t) => {
  const { spec } = load(readFileSync(repoPath('examples/production.yaml'), 'utf8')) as ZooKeeperCluster;
  t.is(spec.replicas, 5);
  t.truthy(spec.storage?.storageClassName);
  t.deepEqual(
    spec.pod?.topologySpreadConstraints?.map((constraint) => [constraint.topologyKey, constraint.whenUnsatisfiable]),
    [
      ['topology.kubernetes.io/zone', 'ScheduleAnyway'],
      ['kubernetes.io/hostname', 'ScheduleAnyway'],
    ],
    'ScheduleAnyway keeps it schedulable on a cluster with fewer zones or nodes than members',
  );
});

test('examples/dev-ephemeral.yaml becomes a running single-member ensemble', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  const example = await applyExample(namespace, 'dev-ephemeral.yaml');
  const status = await waitForStatus(namespace, example.metadata.name as string, 'running', isRunning, FORMED_MS);
  t.is(status.ready, '1/1');
  t.truthy(status.leader);
});
