/**
 * Whether an ensemble is new is decided from evidence, not from the resource's status: a
 * cluster deleted over `Retain` claims, one of its three claims deleted by hand, then created
 * again, must come back with the data of the members whose claims survived. Its new, empty
 * member must sync before it votes: told to bootstrap, it would vote on an empty database, and
 * with two claims lost two such members could elect a leader with no data and truncate the rest.
 * (With two of three claims lost, ZooKeeper forms no quorum from one member with data and two
 * without: the newest writes may have been only on the lost volumes, so a person decides.)
 */
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import test from 'ava';
import { FORMED_ANNOTATION } from '../../src/controller/formation.js';
import { controlPlane, newNamespace } from '../harness/fixture.js';
import { pollUntil } from '../harness/poll.js';
import {
  connectionString,
  createCluster,
  deleteCluster,
  FORMED_MS,
  isRunning,
  memberPods,
  openClusterSession,
  waitForStatus,
} from '../support/clusters.js';
import { runOperator } from '../support/operator.js';
import { ZnodeWriter } from '../support/znode-writer.js';

const SPEC = { replicas: 3, storage: { size: '1Gi', reclaimPolicy: 'Retain' as const } };
const ROOT = '/formation';

async function children(namespace: string): Promise<string[]> {
  const session = await openClusterSession(namespace, 'zk');
  try {
    await session.sync(ROOT);
    return await session.getChildren(ROOT);
  } finally {
    await session.close();
  }
}

test('re-created over retained claims, one deleted by hand: the new member syncs from the others, no write lost', async (t) => {
  const namespace = await newNamespace(t);
  await runOperator(t, namespace);
  const core = (await controlPlane()).kubeConfig.makeApiClient(CoreV1Api);
  const claims = ['data-zk-0', 'data-zk-1', 'data-zk-2'];

  await createCluster(namespace, 'zk', SPEC);
  await waitForStatus(namespace, 'zk', 'Running', isRunning, FORMED_MS);
  const writer = await ZnodeWriter.start(() => connectionString(namespace, 'zk'), ROOT);
  t.teardown(() => writer.stop().catch(() => undefined));
  await pollUntil('200 acknowledged writes', async () => writer.count >= 200 || undefined, { timeoutMs: 120_000 });
  const report = await writer.stop();
  t.deepEqual(report.lost, [], 'every acknowledged write is there before the cluster is deleted');
  const before = await children(namespace);
  t.true(before.length >= report.acknowledged);

  // Each claim records that its member synced with the leader.
  const marks = await pollUntil(
    'every claim marked as holding data of the formed ensemble',
    async () => {
      const found = await Promise.all(
        claims.map(async (name) => (await core.readNamespacedPersistentVolumeClaim({ namespace, name })).metadata),
      );
      const values = found.map((metadata) => metadata?.annotations?.[FORMED_ANNOTATION]);
      return values.every((value) => value !== undefined) ? values : undefined;
    },
    { timeoutMs: 60_000 },
  );
  t.log(`claims marked synced in config versions ${marks.join(', ')}`);

  await deleteCluster(namespace, 'zk');
  await pollUntil(
    'every member pod gone',
    async () => ((await memberPods(namespace, 'zk')).length === 0 ? true : undefined),
    {
      timeoutMs: 180_000,
    },
  );
  await core.deleteNamespacedPersistentVolumeClaim({ namespace, name: 'data-zk-0' });
  await pollUntil(
    'a claim deleted by hand',
    async () => {
      const left = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.map((c) => c.metadata?.name);
      return left.includes('data-zk-0') ? undefined : true;
    },
    { timeoutMs: 120_000 },
  );

  const recreatedAt = Date.now();
  await createCluster(namespace, 'zk', SPEC);
  // The ConfigMap's first version already says the ensemble exists: no member may bootstrap.
  const configMap = await pollUntil(
    'the ConfigMap of the re-created cluster',
    async () =>
      (await core.readNamespacedConfigMap({ namespace, name: 'zk-config' }).catch(() => undefined)) as
        | V1ConfigMap
        | undefined,
    { timeoutMs: 60_000 },
  );
  t.is(configMap.data?.bootstrap, 'false', 'the surviving claims are evidence that the ensemble exists');

  await waitForStatus(namespace, 'zk', 'Running again', isRunning, FORMED_MS);
  t.log(`Running ${Date.now() - recreatedAt} ms after the cluster was created again`);
  const after = new Set(await children(namespace));
  t.deepEqual(
    before.filter((child) => !after.has(child)),
    [],
    'every znode written before the deletion survived in the surviving members’ data',
  );
  const pods = await memberPods(namespace, 'zk');
  t.is(pods.length, 3);
});
