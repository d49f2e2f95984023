/**
 * A cluster whose namespace is being deleted is left alone: the API server's refusal of a create
 * (the NamespaceLifecycle admission plugin, cause NamespaceTerminating) is the evidence. From
 * then on the reconciler writes nothing for that cluster: no apply, no status, no Event, no
 * retry; one info line says why. The refusal bodies are the real API server's.
 */
import { ApiException } from '@kubernetes/client-node';
import test from 'ava';
import type { ZooKeeperCluster } from '../../../src/api/types.js';
import type { ClusterWriter } from '../../../src/controller/dependencies.js';
import { clusterReconciler } from '../../../src/controller/reconciler.js';
import type { ReconcileContext } from '../../../src/runtime/controller.js';
import { MemoryLogger } from '../../../src/runtime/logging.js';
import { aCluster } from '../../support/builders.js';

/** kube-apiserver v1.36.3's answer to a create in a namespace being deleted (captured), as client-node throws it. */
const refusedInDeletedNamespace = (resource: string, name: string) =>
  new ApiException(
    403,
    'Unknown API Status Code!',
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `${resource} "${name}" is forbidden: unable to create new content in namespace zk because it is being terminated`,
      reason: 'Forbidden',
      details: {
        name,
        kind: resource,
        causes: [
          { reason: 'NamespaceTerminating', message: 'namespace zk is being terminated', field: 'metadata.namespace' },
        ],
      },
      code: 403,
    }),
    {},
  );

/**
 * The reconciler over one cluster none of whose children exist (any more), where every apply is
 * refused with `refusal`. Writes other than applies and the status are recorded and fail: none
 * is expected.
 */
function aWorld(initial: ZooKeeperCluster, refusal: (kind: string, name: string) => unknown) {
  let cluster: ZooKeeperCluster | undefined = initial;
  const writes: string[] = [];
  const events: string[] = [];
  const logger = new MemoryLogger();
  const expected: Partial<ClusterWriter> = {
    apply: async (object) => {
      writes.push(`apply ${object.kind}/${object.metadata?.name}`);
      throw refusal(`${object.kind?.toLowerCase()}s`, object.metadata?.name ?? '');
    },
    superUserSecret: async () => ({ kind: 'owned', password: 'secret' }),
    applyClusterStatus: async (_namespace, name, status) => {
      writes.push(`status ${name} ${status.phase}`);
    },
  };
  const writer = new Proxy(expected as ClusterWriter, {
    get: (target, method: string) =>
      target[method as keyof ClusterWriter] ??
      (async (_namespace: string, name: string) => {
        writes.push(`${method} ${name}`);
        throw new Error(`unexpected ${method}`);
      }),
  });
  const reconcile = clusterReconciler({
    cache: {
      cluster: () => cluster,
      owned: () => undefined,
      memberPods: () => [],
      claims: () => [],
    },
    writer,
    events: {
      record: async (_target, type, reason, message) => {
        events.push(`${type} ${reason}: ${message}`);
        return true;
      },
    },
    ensemble: { read: async () => [] },
    membership: () => {
      throw new Error('no membership change without members');
    },
    now: () => new Date('2026-12-02T02:00:00Z'),
  });
  const ctx: ReconcileContext = {
    key: 'zk/example',
    reconcileId: 'r1',
    logger,
    signal: new AbortController().signal,
  };
  return {
    writes,
    events,
    logger,
    reconcile: () => reconcile('zk/example', ctx),
    replaceCluster: (next: ZooKeeperCluster | undefined) => {
      cluster = next;
    },
  };
}

const aDeletedNamespace = (cluster: ZooKeeperCluster) => aWorld(cluster, refusedInDeletedNamespace);

test('a create refused because the namespace is being deleted: no status, no Event, no retry, one info line', async (t) => {
  const world = aDeletedNamespace(aCluster({ replicas: 3 }, { namespace: 'zk' }));
  t.is(await world.reconcile(), undefined, 'no requeue');
  t.deepEqual(world.writes, ['apply ConfigMap/example-config']);
  t.deepEqual(world.events, []);
  t.deepEqual(
    world.logger.lines.filter((line) => line.level !== 'debug').map((line) => `${line.level} ${line.message}`),
    ['info namespace zk is being deleted: leaving cluster example alone'],
  );
});

test('once its namespace refused a create, a cluster is left alone: later reconciles write nothing', async (t) => {
  const world = aDeletedNamespace(aCluster({ replicas: 3 }, { namespace: 'zk' }));
  await world.reconcile();
  world.writes.length = 0;
  world.logger.lines.length = 0;
  for (let i = 0; i < 3; i++) t.is(await world.reconcile(), undefined);
  t.deepEqual(world.writes, []);
  t.deepEqual(world.events, []);
  t.deepEqual(world.logger.lines, []);
});

test('a new cluster of the same name (another uid, so another namespace) is reconciled again', async (t) => {
  const world = aDeletedNamespace(aCluster({ replicas: 3 }, { namespace: 'zk' }));
  await world.reconcile();
  world.replaceCluster(undefined);
  await world.reconcile();
  world.writes.length = 0;
  world.replaceCluster(aCluster({ replicas: 3 }, { namespace: 'zk', uid: '00000000-0000-4000-8000-000000000002' }));
  await world.reconcile();
  t.deepEqual(world.writes, ['apply ConfigMap/example-config']);
});

test('a create refused for a missing permission is still reported and retried', async (t) => {
  const forbidden = new ApiException(
    403,
    'Unknown API Status Code!',
    JSON.stringify({
      kind: 'Status',
      status: 'Failure',
      reason: 'Forbidden',
      code: 403,
      message:
        'configmaps "example-config" is forbidden: User "system:serviceaccount:ops:zk-operator" cannot patch resource "configmaps" in API group "" in the namespace "zk"',
    }),
    {},
  );
  const world = aWorld(aCluster({ replicas: 3 }, { namespace: 'zk' }), () => forbidden);
  await t.throwsAsync(world.reconcile(), { is: forbidden });
  t.deepEqual(
    world.writes.map((write) => write.split(' ').slice(0, 2).join(' ')),
    ['apply ConfigMap/example-config', 'status example'],
  );
  t.deepEqual(
    world.events.map((event) => event.split(':')[0]),
    ['Warning PermissionDenied'],
  );
});
